import type { AudioInput, SpeechRequest, SpeechResult, Transcript } from '../types';

// The local provider's audio, deterministic and offline so tests and demos need no network.
//
// Speech: a valid RIFF/WAVE file, PCM 16-bit mono at 16 kHz, one short tone per character of the text
// (its pitch from the character), with the text itself embedded in a LIST/INFO chunk's ICMT ("comment")
// sub-chunk, the standard RIFF place for free text that every WAV reader skips over.
// Transcription: the text of that same ICMT sub-chunk, so what the local provider speaks it also hears
// (a round trip), and any WAV a test writes with an ICMT chunk is "heard" as that text. Audio without the
// chunk (an MP3, a plain recording) is heard as silence: an empty transcript, never an invented one.

export const LOCAL_TRANSCRIPTION_MODEL = 'edgeway-transcribe';
export const LOCAL_SPEECH_MODEL = 'edgeway-speech';

export const WAV_SAMPLE_RATE = 16_000;
const SAMPLES_PER_CHAR = 320; // 20 ms
// Tones for at most this many characters (OpenAI's speech input limit); the chunk keeps the whole text.
const MAX_SPOKEN_CHARS = 4096;
// Characters of tone per streamed chunk (~40 KB).
const CHARS_PER_CHUNK = 64;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

const ascii = (s: string) => encoder.encode(s);

function u32(view: DataView, at: number, v: number): void {
  view.setUint32(at, v, true);
}

// LIST/INFO/ICMT holding `text` (UTF-8, NUL-terminated, padded to an even length as RIFF requires).
function infoChunk(text: string): Uint8Array {
  const body = encoder.encode(text);
  const icmtSize = body.length + 1;
  const padded = icmtSize + (icmtSize % 2);
  const listSize = 4 + 8 + padded;
  const out = new Uint8Array(8 + listSize);
  const view = new DataView(out.buffer);
  out.set(ascii('LIST'), 0);
  u32(view, 4, listSize);
  out.set(ascii('INFO'), 8);
  out.set(ascii('ICMT'), 12);
  u32(view, 16, icmtSize);
  out.set(body, 20);
  return out;
}

// Everything before the samples: RIFF header, fmt, the text chunk, and the data chunk's header.
export function wavHeader(text: string, sampleCount: number): Uint8Array {
  const info = infoChunk(text);
  const dataBytes = sampleCount * 2;
  const head = new Uint8Array(12 + 24 + info.length + 8);
  const view = new DataView(head.buffer);
  head.set(ascii('RIFF'), 0);
  u32(view, 4, head.length - 8 + dataBytes);
  head.set(ascii('WAVE'), 8);
  head.set(ascii('fmt '), 12);
  u32(view, 16, 16);
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  u32(view, 24, WAV_SAMPLE_RATE);
  u32(view, 28, WAV_SAMPLE_RATE * 2); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  head.set(info, 36);
  const at = 36 + info.length;
  head.set(ascii('data'), at);
  u32(view, at + 4, dataBytes);
  return head;
}

// One character's tone: a sine whose pitch comes from the character, faded in and out (no clicks).
function tone(code: number, out: DataView, at: number): void {
  const freq = 220 + (code % 48) * 15;
  for (let i = 0; i < SAMPLES_PER_CHAR; i++) {
    const fade = Math.min(1, i / 32, (SAMPLES_PER_CHAR - i) / 32);
    const v = Math.round(Math.sin((2 * Math.PI * freq * i) / WAV_SAMPLE_RATE) * 8000 * fade);
    out.setInt16(at + i * 2, v, true);
  }
}

// The WAV for `text`, produced chunk by chunk as it is read (a long answer is never held whole).
export function speechWav(text: string): ReadableStream<Uint8Array> {
  const codes = [...text.slice(0, MAX_SPOKEN_CHARS)].map((ch) => ch.codePointAt(0) ?? 0);
  let next = -1;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (next === -1) {
        controller.enqueue(wavHeader(text, codes.length * SAMPLES_PER_CHAR));
        next = 0;
      } else {
        const batch = codes.slice(next, next + CHARS_PER_CHUNK);
        const chunk = new Uint8Array(batch.length * SAMPLES_PER_CHAR * 2);
        const view = new DataView(chunk.buffer);
        batch.forEach((code, i) => tone(code, view, i * SAMPLES_PER_CHAR * 2));
        controller.enqueue(chunk);
        next += CHARS_PER_CHUNK;
      }
      if (next >= codes.length) controller.close();
    },
  });
}

interface RiffChunk {
  id: string;
  start: number;
  size: number;
}

// The chunks of a RIFF container between `from` and `to`, bounds-checked (a lying size ends the walk).
function chunks(bytes: Uint8Array, from: number, to: number): RiffChunk[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: RiffChunk[] = [];
  let at = from;
  while (at + 8 <= to) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4));
    const size = view.getUint32(at + 4, true);
    if (at + 8 + size > to) {
      // The data chunk of a streamed WAV may say more than arrived; anything else is malformed.
      if (id === 'data') out.push({ id, start: at + 8, size: to - at - 8 });
      break;
    }
    out.push({ id, start: at + 8, size });
    at += 8 + size + (size % 2);
  }
  return out;
}

const isWav = (b: Uint8Array) =>
  b.length >= 12 &&
  String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' &&
  String.fromCharCode(...b.subarray(8, 12)) === 'WAVE';

// The ICMT text of a WAV, or undefined when it has none (or is not a WAV).
export function wavText(bytes: Uint8Array): string | undefined {
  if (!isWav(bytes)) return undefined;
  for (const chunk of chunks(bytes, 12, bytes.length)) {
    if (chunk.id !== 'LIST' || chunk.size < 4) continue;
    if (String.fromCharCode(...bytes.subarray(chunk.start, chunk.start + 4)) !== 'INFO') continue;
    for (const sub of chunks(bytes, chunk.start + 4, chunk.start + chunk.size)) {
      if (sub.id !== 'ICMT') continue;
      const raw = bytes.subarray(sub.start, sub.start + sub.size);
      const end = raw.indexOf(0);
      return decoder.decode(end === -1 ? raw : raw.subarray(0, end));
    }
  }
  return undefined;
}

// Seconds of PCM audio in a WAV, from its fmt byte rate and data size.
function wavSeconds(bytes: Uint8Array): number | undefined {
  if (!isWav(bytes)) return undefined;
  const list = chunks(bytes, 12, bytes.length);
  const fmt = list.find((c) => c.id === 'fmt ');
  const data = list.find((c) => c.id === 'data');
  if (!fmt || !data || fmt.size < 16) return undefined;
  const byteRate = new DataView(bytes.buffer, bytes.byteOffset + fmt.start, 16).getUint32(8, true);
  return byteRate > 0 ? Math.round((data.size / byteRate) * 1000) / 1000 : undefined;
}

export async function localTranscribe(audio: AudioInput): Promise<Transcript> {
  const seconds = wavSeconds(audio.bytes);
  return { text: wavText(audio.bytes) ?? '', ...(seconds !== undefined ? { durationSeconds: seconds } : {}) };
}

// WAV whatever format was asked for: the local provider writes no compressed audio.
export async function localSpeak(request: SpeechRequest): Promise<SpeechResult> {
  return { contentType: 'audio/wav', body: speechWav(request.input) };
}
