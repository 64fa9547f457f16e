import type { IncomingMessage, ServerResponse } from 'node:http';
import { hang, json, sleep, type VendorHandler } from './common';

// OpenAI's audio wire: POST /v1/audio/transcriptions (multipart: `file`, `model`, `response_format`;
// answers JSON {text, duration}) and POST /v1/audio/speech (JSON {model, input, voice, response_format};
// answers the audio, streamed in chunks). Written independently of src/ (its own WAV writer and reader).
//
// Transcription: the text is derived from the uploaded bytes — a WAV's LIST/INFO/ICMT text chunk, as
// "Mock transcript: <text>", else "Mock transcript of <n> bytes". Faults, by a marker in that text:
//   [[fault:500]] → 500 | [[fault:hang]] → never answers | [[fault:malformed]] → a body that is not JSON.
// Speech: a WAV (PCM 16-bit mono, 8 kHz) whose ICMT chunk holds the input text, sent as a header chunk
// and then SPEECH_CHUNKS sample chunks SPEECH_CHUNK_GAP_MS apart. Markers in the input:
//   [[speech:slow]] → SPEECH_SLOW_MS between the header chunk and the rest | [[speech:500]] → 500.
// The server keeps bodies as UTF-8 strings, so the bytes are read back from that (the RIFF ids and ASCII
// text survive; sizes are read from the text, not the chunk header).

export const SPEECH_CHUNKS = 4;
export const SPEECH_CHUNK_GAP_MS = 30;
export const SPEECH_SLOW_MS = 1500;
const SAMPLE_RATE = 8000;
const SAMPLES_PER_CHUNK = 800;

function boundaryOf(req: IncomingMessage): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(req.headers['content-type'] ?? '');
  return m ? (m[1] ?? m[2])?.trim() : undefined;
}

interface FormPart {
  name: string;
  filename: string | undefined;
  contentType: string | undefined;
  value: string;
}

function parseForm(body: string, boundary: string): FormPart[] {
  const parts: FormPart[] = [];
  for (const raw of body.split(`--${boundary}`).slice(1)) {
    if (raw.startsWith('--')) break;
    const split = raw.indexOf('\r\n\r\n');
    if (split === -1) continue;
    const head = raw.slice(0, split);
    const value = raw.slice(split + 4).replace(/\r\n$/, '');
    const name = /name="([^"]*)"/i.exec(head)?.[1] ?? '';
    const filename = /filename="([^"]*)"/i.exec(head)?.[1];
    const contentType = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim();
    parts.push({ name, filename, contentType, value });
  }
  return parts;
}

// The ICMT text of a WAV held as a string: after "ICMT" and its 4 size bytes, up to the NUL.
function embeddedText(file: string): string | undefined {
  if (!file.startsWith('RIFF') || file.slice(8, 12) !== 'WAVE') return undefined;
  const at = file.indexOf('ICMT');
  if (at === -1) return undefined;
  const rest = file.slice(at + 8);
  const end = rest.indexOf('\0');
  return end === -1 ? rest : rest.slice(0, end);
}

export const openaiTranscriptions: VendorHandler = async (req, _url, body, res) => {
  const boundary = boundaryOf(req);
  if (!boundary)
    return json(res, 400, { error: { message: 'expected multipart/form-data', type: 'invalid_request_error' } });
  const parts = parseForm(body, boundary);
  const file = parts.find((p) => p.name === 'file' && p.filename !== undefined);
  const model = parts.find((p) => p.name === 'model')?.value;
  if (!file || !model) {
    return json(res, 400, { error: { message: 'file and model are required', type: 'invalid_request_error' } });
  }
  const text = embeddedText(file.value);
  if (text?.includes('[[fault:500]]'))
    return json(res, 500, { error: { message: 'mock failure', type: 'server_error' } });
  if (text?.includes('[[fault:hang]]')) return hang();
  if (text?.includes('[[fault:malformed]]')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"text": ');
    return;
  }
  const transcript =
    text !== undefined ? `Mock transcript: ${text}` : `Mock transcript of ${Buffer.byteLength(file.value)} bytes`;
  return json(res, 200, { text: transcript, duration: 1.5 });
};

function wavHead(text: string, dataBytes: number): Buffer {
  const comment = Buffer.from(`${text}\0`, 'utf8');
  const padded = comment.length % 2 === 0 ? comment : Buffer.concat([comment, Buffer.alloc(1)]);
  const list = Buffer.alloc(12);
  list.write('LIST', 0, 'ascii');
  list.writeUInt32LE(4 + 8 + padded.length, 4);
  list.write('INFO', 8, 'ascii');
  const icmt = Buffer.alloc(8);
  icmt.write('ICMT', 0, 'ascii');
  icmt.writeUInt32LE(comment.length, 4);
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0, 'ascii');
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(1, 8);
  fmt.writeUInt16LE(1, 10);
  fmt.writeUInt32LE(SAMPLE_RATE, 12);
  fmt.writeUInt32LE(SAMPLE_RATE * 2, 16);
  fmt.writeUInt16LE(2, 20);
  fmt.writeUInt16LE(16, 22);
  const data = Buffer.alloc(8);
  data.write('data', 0, 'ascii');
  data.writeUInt32LE(dataBytes, 4);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'ascii');
  riff.write('WAVE', 8, 'ascii');
  const head = Buffer.concat([riff, fmt, list, icmt, padded, data]);
  head.writeUInt32LE(head.length - 8 + dataBytes, 4);
  return head;
}

function samples(chunk: number): Buffer {
  const out = Buffer.alloc(SAMPLES_PER_CHUNK * 2);
  for (let i = 0; i < SAMPLES_PER_CHUNK; i++) {
    out.writeInt16LE(Math.round(Math.sin((2 * Math.PI * (300 + chunk * 100) * i) / SAMPLE_RATE) * 6000), i * 2);
  }
  return out;
}

async function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
}

export const openaiSpeech: VendorHandler = async (_req, _url, body, res) => {
  let parsed: { model?: unknown; input?: unknown; voice?: unknown; response_format?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
  }
  const input = typeof parsed.input === 'string' ? parsed.input : '';
  if (!parsed.model || !input || !parsed.voice) {
    return json(res, 400, { error: { message: 'model, input and voice are required', type: 'invalid_request_error' } });
  }
  if (input.includes('[[speech:500]]'))
    return json(res, 500, { error: { message: 'mock failure', type: 'server_error' } });
  const format = typeof parsed.response_format === 'string' ? parsed.response_format : 'mp3';
  if (format !== 'wav') {
    // Not real MP3 frames: an ID3 tag and filler, enough for a client to see the type.
    res.writeHead(200, { 'content-type': 'audio/mpeg' });
    res.end(Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), Buffer.alloc(256)]));
    return;
  }
  res.writeHead(200, { 'content-type': 'audio/wav', 'transfer-encoding': 'chunked' });
  await writeChunk(res, wavHead(input, SPEECH_CHUNKS * SAMPLES_PER_CHUNK * 2));
  await sleep(input.includes('[[speech:slow]]') ? SPEECH_SLOW_MS : SPEECH_CHUNK_GAP_MS);
  for (let i = 0; i < SPEECH_CHUNKS; i++) {
    if (res.destroyed) return;
    await writeChunk(res, samples(i));
    await sleep(SPEECH_CHUNK_GAP_MS);
  }
  res.end();
};
