// Newline-delimited JSON over a byte stream: chunk boundaries carry no meaning (a transport may split
// or merge writes), so lines are reassembled here. Lines are returned unparsed; an unterminated last
// line is what a writer that died mid-write leaves behind, so it is dropped.
export async function* ndjsonLines(reader: ReadableStreamDefaultReader<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.length > 0) yield line;
        nl = pending.indexOf('\n');
      }
    }
  } finally {
    reader.releaseLock();
  }
}

const encoder = new TextEncoder();

export function ndjsonLine(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value)}\n`);
}
