import { ApiError } from '../../lib/errors';
import { essence, MAX_IMAGE_BYTES, sniffBinary } from '../chats';
import { IMAGE_MEDIA_TYPES, type ImageMediaType } from '../providers';

// The media of a run — images, audio, video — checked against their bytes: a declared type is believed
// only when the file's signature agrees (a mislabelled file is a 400 naming both), and each medium is
// limited in size (413). Why: docs/design/assistant.md#media

export type MediaKind = 'image' | 'audio' | 'video';

export interface Media {
  kind: MediaKind;
  mediaType: string;
  bytes: Uint8Array;
  filename: string;
  // Where the bytes came from: the request itself, or a file of one of the caller's chats.
  source: 'inline' | 'file';
  fileId?: string;
  // The request field it came in, for error details (images[1], audio, file_ids[0]…).
  field: string;
}

export const AUDIO_TYPES = ['audio/wav', 'audio/mpeg', 'audio/ogg', 'audio/flac', 'audio/webm'] as const;
export const VIDEO_TYPES = ['video/mp4', 'video/webm', 'video/quicktime'] as const;
export const MAX_AUDIO_PER_RUN = 4;

// Other names clients send for the same types.
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/mp3': 'audio/mpeg',
  'audio/mpeg3': 'audio/mpeg',
  'audio/x-mpeg': 'audio/mpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/x-flac': 'audio/flac',
  'audio/opus': 'audio/ogg',
};

const ACCEPTED: Record<MediaKind, readonly string[]> = {
  image: IMAGE_MEDIA_TYPES,
  audio: AUDIO_TYPES,
  video: VIDEO_TYPES,
};

const starts = (b: Uint8Array, sig: string, at = 0) =>
  b.length >= at + sig.length && [...sig].every((ch, i) => b[at + i] === ch.charCodeAt(0));

// The chats feature's signatures (images, WAV, MP3, MP4), plus the audio and video containers only the
// assistant takes.
export function sniff(head: Uint8Array): string | undefined {
  const known = sniffBinary(head);
  if (known) return known;
  if (starts(head, 'OggS')) return 'audio/ogg';
  if (starts(head, 'fLaC')) return 'audio/flac';
  if (starts(head, 'ftyp', 4) && starts(head, 'qt  ', 8)) return 'video/quicktime';
  // Matroska/WebM: the EBML magic. Audio-only and video WebM share it; the declared kind decides.
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return 'webm';
  return undefined;
}

export function normalType(declared: string | undefined): string | undefined {
  const t = essence(declared);
  return t === undefined ? undefined : (ALIASES[t] ?? t);
}

const invalid = (field: string, message: string) =>
  new ApiError('VALIDATION_ERROR', message, { details: [{ field, message }] });

// The largest a medium of this kind may be: MEDIA bytes, and for images also what vision vendors take.
export function maxBytes(kind: MediaKind, configured: number): number {
  return kind === 'image' ? Math.min(configured, MAX_IMAGE_BYTES) : configured;
}

export function tooLarge(field: string, limit: number): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', `${field} is larger than ${limit} bytes`, {
    details: [{ field, message: `at most ${limit} bytes` }],
  });
}

// The medium's type, from what was declared and what the bytes are. A missing or generic declaration is
// settled by the bytes; any other must agree with them.
export function checkMedia(
  kind: MediaKind,
  declared: string | undefined,
  bytes: Uint8Array,
  field: string,
  limit: number,
): string {
  const max = maxBytes(kind, limit);
  if (bytes.length > max) throw tooLarge(field, max);
  if (bytes.length === 0) throw invalid(field, `${field} is empty`);
  const sniffed = sniff(bytes.subarray(0, 16));
  const given = normalType(declared);
  const generic = given === undefined || given === 'application/octet-stream';
  const accepted = ACCEPTED[kind];
  const actual = sniffed === 'webm' ? (kind === 'video' ? 'video/webm' : 'audio/webm') : sniffed;
  if (!generic && !accepted.includes(given)) {
    throw invalid(field, `${field}: type ${given} is not accepted as ${kind} (accepted: ${accepted.join(', ')})`);
  }
  if (actual === undefined || !accepted.includes(actual)) {
    const looks = actual ?? 'unrecognised bytes';
    throw invalid(field, `${field} is declared ${given ?? 'as ' + kind} but its content is ${looks}`);
  }
  if (!generic && given !== actual) {
    throw invalid(field, `${field} is declared ${given} but its content is ${actual}`);
  }
  return actual;
}

export const isImageType = (t: string): t is ImageMediaType => (IMAGE_MEDIA_TYPES as readonly string[]).includes(t);

// The kind a stored chat file is, by its (upload-sniffed) type; undefined for text and documents.
export function kindOfStored(contentType: string): MediaKind | undefined {
  if (isImageType(contentType)) return 'image';
  if (contentType.startsWith('audio/')) return 'audio';
  if (contentType.startsWith('video/')) return 'video';
  return undefined;
}
