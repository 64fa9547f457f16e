import { env } from 'cloudflare:test';

export type Row = Record<string, unknown>;

// AI calls are recorded in the background (waitUntil), so a test polls for the row.
export async function waitForRequestRow(requestId: string): Promise<Row> {
  for (let i = 0; i < 100; i++) {
    const row = await env.DB.prepare('SELECT * FROM requests WHERE request_id = ?').bind(requestId).first<Row>();
    if (row) return row;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no request row for ${requestId}`);
}
