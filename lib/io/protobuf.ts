/**
 * A minimal protocol-buffers encoder: enough of the wire format to write ONNX models (varints,
 * 32-bit floats, length-delimited strings, bytes and nested messages).
 *
 * Why not protobufjs: it would need onnx.proto loaded (or a generated module) to encode the dozen
 * fields we write, and brings its dependencies; the wire format for them is a few lines. A message
 * keeps its pieces as a list of chunks and embeds children by reference, so a model's hundreds of
 * megabytes of weights are copied once, when {@link ProtoMessage.toBuffer} joins them.
 * @module
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

function varint(value: number | bigint): Uint8Array {
  // int64 fields take negative values as their 64-bit two's complement (10 bytes).
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** A message being encoded: append fields in field-number order, then embed it or take its bytes. */
export class ProtoMessage {
  readonly #chunks: Uint8Array[] = [];
  #length = 0;

  /** Its encoded size in bytes. */
  get length(): number {
    return this.#length;
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.byteLength;
  }

  #tag(field: number, wire: number): void {
    this.#push(varint((field << 3) | wire));
  }

  /** An integer field (int32, int64, enum, bool as 0/1). */
  int(field: number, value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value))
      throw new RangeError(`protobuf field ${field}: ${value} is not an integer`);
    this.#tag(field, WIRE_VARINT);
    this.#push(varint(value));
    return this;
  }

  /** A repeated integer field, one entry per value (proto2's unpacked encoding). */
  ints(field: number, values: readonly (number | bigint)[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  /** A float field (32-bit, little-endian). */
  float(field: number, value: number): this {
    this.#tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.#push(bytes);
    return this;
  }

  /** A bytes field (kept by reference until {@link ProtoMessage.toBuffer}). */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_LENGTH);
    this.#push(varint(value.byteLength));
    if (value.byteLength > 0) this.#push(value);
    return this;
  }

  /** A string field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** An embedded message field. */
  message(field: number, value: ProtoMessage): this {
    this.#tag(field, WIRE_LENGTH);
    this.#push(varint(value.length));
    for (const chunk of value.#chunks) this.#push(chunk);
    return this;
  }

  /** The encoded message as one buffer. */
  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks, this.#length);
  }
}
