import { env } from 'cloudflare:test';

export type Row = Record<string, unknown>;

// AI calls are recorded in the background: the row travels with the request's log event and the
// request-log queue's consumer writes it, so a test polls for it.
export async function waitForRequestRow(requestId: string): Promise<Row> {
  for (let i = 0; i < 250; i++) {
    const row = await env.DB.prepare('SELECT * FROM requests WHERE request_id = ?').bind(requestId).first<Row>();
    if (row) return row;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no request row for ${requestId}`);
}
