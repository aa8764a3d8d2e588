// The POSIX `cksum` CRC (CRC-32 over the bytes, then over the length): what the seed record holds as the content
// digest of a file or symlink target when written with hash=cksum. Computed here, so tests do not trust the tool
// under test for the expected value.
const table = new Uint32Array(256).map((_, index) => {
  let crc = index << 24;
  for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  return crc >>> 0;
});

export function posixCksum(data: string | Buffer): string {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let crc = 0;
  const feed = (byte: number) => {
    crc = ((crc << 8) ^ (table[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0;
  };
  for (const byte of bytes) feed(byte);
  for (let length = bytes.length; length > 0; length = Math.floor(length / 256)) feed(length & 0xff);
  return String(~crc >>> 0);
}
