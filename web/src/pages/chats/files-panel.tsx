// A chat's files: uploads in progress (each with its progress bar), the stored files to download, and which
// of them go with the next message.
import type { JSX } from 'preact';
import { request } from '../../lib/api';
import { fmtBytes, fmtDate } from '../../lib/format';
import { ErrorNote, Progress } from '../../ui/components';
import type { ChatFile } from './types';

export interface UploadState {
  key: number;
  names: string;
  loaded: number;
  total: number;
  error: unknown;
  abort: () => void;
}

// Downloads need the bearer token, so a plain link cannot do: the bytes are fetched, then saved from a
// blob URL (revoked right after).
export async function downloadFile(chatId: string, file: ChatFile): Promise<void> {
  const res = await request(`/api/v1/chat/${chatId}/files/${file.fileid}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = file.filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function UploadRow({ upload, onDismiss }: { upload: UploadState; onDismiss: () => void }): JSX.Element {
  const pct = upload.total > 0 ? Math.round((upload.loaded / upload.total) * 100) : 0;
  return (
    <li class="upload">
      <div class="row upload-head">
        <span class="upload-name">{upload.names}</span>
        {upload.error ? (
          <button type="button" class="secondary" onClick={onDismiss}>
            Dismiss
          </button>
        ) : (
          <button
            type="button"
            class="secondary"
            onClick={upload.abort}
            aria-label={`Cancel upload of ${upload.names}`}
          >
            Cancel
          </button>
        )}
      </div>
      {upload.error ? (
        <ErrorNote error={upload.error} />
      ) : (
        <>
          <Progress
            label={`Uploading ${upload.names}`}
            value={upload.total > 0 ? upload.loaded : null}
            max={upload.total || 1}
          />
          <span class="muted small">
            {pct}% of {fmtBytes(upload.total)}
          </span>
        </>
      )}
    </li>
  );
}

interface PanelProps {
  chatId: string;
  files: ChatFile[];
  uploads: UploadState[];
  selected: Set<string>;
  canWrite: boolean;
  onToggle: (fileid: string) => void;
  onDismiss: (key: number) => void;
  onError: (e: unknown) => void;
}

export function FilesPanel(p: PanelProps): JSX.Element {
  return (
    <section class="card chat-files" aria-labelledby="chat-files-title">
      <h2 id="chat-files-title">Files</h2>
      <div aria-live="polite">
        {p.uploads.length > 0 ? (
          <ul class="uploads" aria-label="Uploads">
            {p.uploads.map((u) => (
              <UploadRow key={u.key} upload={u} onDismiss={() => p.onDismiss(u.key)} />
            ))}
          </ul>
        ) : null}
      </div>
      {p.files.length === 0 ? (
        <p class="muted small">No files yet. Drop files on the chat or use “Attach files”.</p>
      ) : (
        <ul class="file-list">
          {p.files.map((f) => (
            <li key={f.fileid} class="file">
              <span class="file-name">{f.filename}</span>
              <span class="muted small">
                {fmtBytes(f.size)} · {f.content_type} · {fmtDate(f.uploaded_at)}
              </span>
              <div class="row">
                {p.canWrite ? (
                  <button
                    type="button"
                    aria-pressed={p.selected.has(f.fileid)}
                    aria-label={`Attach ${f.filename} to the next message`}
                    class="secondary attach-toggle"
                    onClick={() => p.onToggle(f.fileid)}
                  >
                    Attach
                  </button>
                ) : null}
                <button
                  type="button"
                  class="secondary"
                  aria-label={`Download ${f.filename}`}
                  onClick={() => downloadFile(p.chatId, f).catch(p.onError)}
                >
                  Download
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
