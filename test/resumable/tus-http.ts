/** Raw tus 1.0.0 requests (no client library), for tests that check the protocol itself. */
export const TUS = { 'tus-resumable': '1.0.0' };

export interface TusAnswer {
  status: number;
  headers: Headers;
  body: any;
}

async function answer(res: Response): Promise<TusAnswer> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, headers: res.headers, body };
}

export function metadata(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

export async function createUpload(
  baseUrl: string,
  length: number,
  meta: Record<string, string> = { filename: 'revenue.csv' },
  headers: Record<string, string> = {},
): Promise<TusAnswer & { url: string }> {
  const res = await fetch(`${baseUrl}/api/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': String(length), 'upload-metadata': metadata(meta), ...headers },
  });
  const location = res.headers.get('location');
  return { ...(await answer(res)), url: location ? new URL(location, baseUrl).toString() : '' };
}

export async function patchUpload(
  url: string,
  offset: number,
  body: Uint8Array<ArrayBuffer> | string,
  headers: Record<string, string> = {},
): Promise<TusAnswer> {
  return answer(
    await fetch(url, {
      method: 'PATCH',
      headers: {
        ...TUS,
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        ...headers,
      },
      body,
    }),
  );
}

export async function headUpload(url: string, headers: Record<string, string> = {}): Promise<TusAnswer> {
  return answer(await fetch(url, { method: 'HEAD', headers: { ...TUS, ...headers } }));
}

export async function deleteUpload(url: string, headers: Record<string, string> = {}): Promise<TusAnswer> {
  return answer(await fetch(url, { method: 'DELETE', headers: { ...TUS, ...headers } }));
}
