// Uploads with progress: fetch() cannot report upload progress, XMLHttpRequest's upload.onprogress can.
// The same bearer token as every other call; on a 401 the session is refreshed once (through api()) and the
// upload sent again.
import { api, ApiProblem, problemFrom } from '../../lib/api';
import { getSession } from '../../lib/session';
import type { ChatFile } from './types';

export interface UploadHandle {
  done: Promise<ChatFile[]>;
  abort: () => void;
}

function send(
  chatId: string,
  files: File[],
  onProgress: (loaded: number, total: number) => void,
  xhrRef: { current: XMLHttpRequest | null },
): Promise<{ status: number; response: Response }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhrRef.current = xhr;
    xhr.open('POST', `/api/v1/chat/${encodeURIComponent(chatId)}/upload`);
    const token = getSession()?.accessToken;
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    };
    xhr.onload = () => {
      // A Response, so the error envelope is read the same way as for fetch().
      const headers = new Headers();
      const id = xhr.getResponseHeader('x-request-id');
      if (id) headers.set('x-request-id', id);
      resolve({
        status: xhr.status,
        response: new Response(xhr.responseText || null, { status: xhr.status, headers }),
      });
    };
    xhr.onerror = () =>
      reject(new ApiProblem(0, 'NETWORK', 'Edgeway could not be reached. Check your connection.', null));
    xhr.onabort = () => reject(new DOMException('Upload cancelled', 'AbortError'));
    const form = new FormData();
    for (const f of files) form.append('files', f, f.name);
    xhr.send(form);
  });
}

export function uploadFiles(
  chatId: string,
  files: File[],
  onProgress: (loaded: number, total: number) => void,
): UploadHandle {
  const xhr: { current: XMLHttpRequest | null } = { current: null };
  let aborted = false;
  const done = (async () => {
    let res = await send(chatId, files, onProgress, xhr);
    if (res.status === 401 && !aborted) {
      // Any authenticated call refreshes the session on 401; then the upload goes again.
      await api('/api/v1/auth/me');
      res = await send(chatId, files, onProgress, xhr);
    }
    if (res.status < 200 || res.status >= 300) throw await problemFrom(res.response);
    return ((await res.response.json()) as { data: ChatFile[] }).data;
  })();
  return {
    done,
    abort: () => {
      aborted = true;
      xhr.current?.abort();
    },
  };
}
