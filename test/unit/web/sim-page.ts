import WebSocket from 'ws';

export type Received = { type: string; [key: string]: unknown };

/** The virtual phone page's channel of a WebService at `url`, with everything it was sent. */
export async function connect(url: string): Promise<{ ws: WebSocket; messages: Received[] }> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/sim`, { headers: { Origin: url } });
  const messages: Received[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(d.toString()) as Received));
  await new Promise((r) => ws.once('open', r));
  return { ws, messages };
}

/** Long enough for a message to go through the server and back over loopback. */
export const settle = () => new Promise((r) => setTimeout(r, 100));
