import net from 'node:net';

/**
 * Starts `POST /api/jobs` on a raw socket, declaring `declaredBytes` of multipart body, and
 * writes only a CSV of `rows` rows of it: the upload stays open, part of its bytes staged,
 * for a test to kill the process under it. Errors on the socket (the process dying) are
 * expected and ignored.
 */
export async function startHalfUpload(
  port: number,
  declaredBytes: number,
  rows: number,
): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await new Promise((r) => socket.once('connect', r));
  socket.write(
    `POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=cut\r\nContent-Length: ${declaredBytes}\r\n\r\n` +
      `--cut\r\nContent-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\ndate,amount\n${'2024-01-01,1.00\n'.repeat(rows)}`,
  );
  return socket;
}
