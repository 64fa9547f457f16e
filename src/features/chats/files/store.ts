import { ApiError } from '../../../lib/errors';
import { type AllowedType, decideType, SNIFF_BYTES, TextCheck } from './sniff';

// One uploaded file on its way into R2, fed the bytes of its multipart part as they arrive.
//
// A part's length is not known until its closing delimiter, so the bytes go to R2 as a multipart
// upload in parts of PART_BYTES, each sent as soon as it is full and the next byte proves it is not the
// last; a file that ends within its first part is one put() of the bytes already held. At any moment
// the sink holds at most one part (PART_BYTES), however large the file: a 25 MiB file is never in
// memory whole, let alone twice. The SHA-256 is computed on the way (crypto.DigestStream), and the type
// is decided from the first bytes before anything is stored.

// R2 multipart: every part but the last must be at least 5 MiB, and all of them the same size.
export const PART_BYTES = 5 * 1_048_576;

export interface StoredFile {
  size: number;
  sha256: string;
  contentType: AllowedType;
}

export interface SinkOptions {
  bucket: R2Bucket;
  key: string;
  // The sanitized name, for error messages, and the field it came in (files[0], …) for details.
  name: string;
  field: string;
  declaredType: string | undefined;
  maxBytes: number;
  // Tests use smaller parts; production always PART_BYTES.
  partBytes?: number;
}

// R2 failing is a storage integration failing (502), not a bug of ours; the cause is logged, not shown.
export async function r2<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    throw new ApiError('INTEGRATION_ERROR', 'File storage failed; nothing was stored', { cause });
  }
}

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export class FileSink {
  private readonly partBytes: number;
  private readonly text = new TextCheck();
  private readonly digest = new crypto.DigestStream('SHA-256');
  private readonly hasher = this.digest.getWriter();
  private readonly head = new Uint8Array(SNIFF_BYTES);
  private headFill = 0;
  private type: AllowedType | undefined;
  private mustBeText = false;
  private size = 0;
  // The part being filled: grows while the file is small, then one PART_BYTES buffer reused for every part.
  private buf = new Uint8Array(0);
  private fill = 0;
  private upload: R2MultipartUpload | undefined;
  private readonly parts: R2UploadedPart[] = [];
  private settled = false;
  // The most bytes this sink ever held at once (its part buffer), for tests and measurements.
  peakHeld = 0;

  constructor(private readonly o: SinkOptions) {
    this.partBytes = o.partBytes ?? PART_BYTES;
  }

  private refuse(reason: string): ApiError {
    return new ApiError('VALIDATION_ERROR', `File "${this.o.name}" was refused: ${reason}`, {
      details: [{ field: this.o.field, message: reason }],
    });
  }

  private decide(): void {
    const decision = decideType(this.o.declaredType, this.head.subarray(0, this.headFill), this.text.isText);
    if (!decision.ok) throw this.refuse(decision.reason);
    this.type = decision.type;
    this.mustBeText = decision.mustBeText;
  }

  private checkText(): void {
    if (this.mustBeText && !this.text.isText) {
      throw this.refuse(`its content is not UTF-8 text without NUL bytes, as ${this.type ?? 'text'} must be`);
    }
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.size += chunk.length;
    if (this.size > this.o.maxBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `File "${this.o.name}" is larger than ${this.o.maxBytes} bytes`, {
        details: [{ field: this.o.field, message: `at most ${this.o.maxBytes} bytes per file` }],
      });
    }
    this.text.push(chunk);
    if (this.headFill < SNIFF_BYTES) {
      const n = Math.min(SNIFF_BYTES - this.headFill, chunk.length);
      this.head.set(chunk.subarray(0, n), this.headFill);
      this.headFill += n;
      if (this.headFill === SNIFF_BYTES) this.decide();
    }
    this.checkText();
    await this.hasher.write(chunk);
    await this.buffer(chunk);
  }

  private async buffer(chunk: Uint8Array): Promise<void> {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.fill === this.partBytes) {
        // Full, and more bytes follow: this part is not the last.
        await this.sendPart(this.buf);
        this.fill = 0;
        continue;
      }
      if (this.fill === 0 && rest.length > this.partBytes) {
        // A chunk larger than a part (a client in the same process, a test): send a view of it, no copy.
        await this.sendPart(rest.subarray(0, this.partBytes));
        rest = rest.subarray(this.partBytes);
        continue;
      }
      const n = Math.min(this.partBytes - this.fill, rest.length);
      this.reserve(this.fill + n);
      this.buf.set(rest.subarray(0, n), this.fill);
      this.fill += n;
      rest = rest.subarray(n);
    }
  }

  // Small files only pay for what they hold; from the second part on the buffer is already PART_BYTES.
  private reserve(needed: number): void {
    if (needed <= this.buf.length) return;
    const size = needed > this.partBytes / 4 ? this.partBytes : Math.max(65_536, needed, this.buf.length * 2);
    const grown = new Uint8Array(Math.min(size, this.partBytes));
    grown.set(this.buf.subarray(0, this.fill));
    this.buf = grown;
    this.peakHeld = Math.max(this.peakHeld, grown.length);
  }

  private async sendPart(bytes: Uint8Array): Promise<void> {
    // Never store a byte of a file whose type is not settled (a part is far larger than SNIFF_BYTES).
    if (this.type === undefined) this.decide();
    const contentType = this.type;
    this.upload ??= await r2(() => this.o.bucket.createMultipartUpload(this.o.key, { httpMetadata: { contentType } }));
    const upload = this.upload;
    this.parts.push(await r2(() => upload.uploadPart(this.parts.length + 1, bytes)));
  }

  // The end of the part: checks what can only be checked now, then stores the rest and commits.
  async finish(): Promise<StoredFile> {
    if (this.type === undefined) this.decide();
    this.text.end();
    this.checkText();
    await this.hasher.close();
    const sha256 = hex(await this.digest.digest);
    const contentType = this.type as AllowedType;
    const upload = this.upload;
    const last = this.buf.subarray(0, this.fill);
    if (upload) {
      if (last.length > 0) this.parts.push(await r2(() => upload.uploadPart(this.parts.length + 1, last)));
      await r2(() => upload.complete(this.parts));
    } else {
      // R2 checks the bytes it received against the hash before it stores them.
      await r2(() => this.o.bucket.put(this.o.key, last, { httpMetadata: { contentType }, sha256 }));
    }
    this.settled = true;
    this.buf = new Uint8Array(0);
    return { size: this.size, sha256, contentType };
  }

  // Gives up: an unfinished multipart upload is aborted so R2 keeps none of its parts. (An object
  // already committed by finish() is the caller's to delete: it knows the key.)
  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.buf = new Uint8Array(0);
    // Aborting the hash stream rejects its digest, which nobody will read now.
    this.digest.digest.catch(() => undefined);
    await this.hasher.abort().catch(() => undefined);
    if (this.upload) await this.upload.abort();
  }
}
