/**
 * Reads back what the ONNX export wrote, independently of the writer: a protobuf wire-format
 * decoder and the few ONNX fields the tests look at (opset, nodes with their attributes, initializer
 * names, graph input and output shapes, metadata).
 */

type Field = { field: number; wire: number; value: bigint | Uint8Array };

function fields(bytes: Uint8Array): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = bytes[pos++];
      if (b === undefined) throw new Error('protobuf: truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (pos < bytes.length) {
    const tag = Number(varint());
    const field = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 2) {
      const n = Number(varint());
      if (pos + n > bytes.length) throw new Error('protobuf: truncated field');
      out.push({ field, wire, value: bytes.subarray(pos, pos + n) });
      pos += n;
    } else if (wire === 5) {
      out.push({ field, wire, value: bytes.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`protobuf: unexpected wire type ${wire}`);
  }
  return out;
}

const text = (v: Field['value']) => Buffer.from(v as Uint8Array).toString('utf8');
const all = (fs: Field[], n: number) => fs.filter((f) => f.field === n);
const one = (fs: Field[], n: number) => fs.find((f) => f.field === n);

/** A node as read back: op type, inputs, outputs and attributes (ints, int lists, floats). */
export interface OnnxNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, number | number[]>;
}

/** The parts of a ModelProto the tests check. */
export interface OnnxModel {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  nodes: OnnxNode[];
  initializers: { name: string; dims: number[]; bytes: number }[];
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: { name: string; dims: (number | string)[] }[];
  metadata: Record<string, string>;
}

function valueInfo(bytes: Uint8Array): { name: string; dims: (number | string)[] } {
  const f = fields(bytes);
  const tensorType = fields(one(fields(one(f, 2)!.value as Uint8Array), 1)!.value as Uint8Array);
  const shape = fields(one(tensorType, 2)!.value as Uint8Array);
  const dims = all(shape, 1).map((d) => {
    const df = fields(d.value as Uint8Array);
    const value = one(df, 1);
    return value ? Number(value.value) : text(one(df, 2)!.value);
  });
  return { name: text(one(f, 1)!.value), dims };
}

/** Decodes an ONNX model file's bytes. */
export function readOnnx(bytes: Uint8Array): OnnxModel {
  const model = fields(bytes);
  const graph = fields(one(model, 7)!.value as Uint8Array);
  const nodes = all(graph, 1).map((n): OnnxNode => {
    const f = fields(n.value as Uint8Array);
    const attributes: Record<string, number | number[]> = {};
    for (const a of all(f, 5)) {
      const af = fields(a.value as Uint8Array);
      const type = Number(one(af, 20)!.value);
      const name = text(one(af, 1)!.value);
      if (type === 1) {
        const v = one(af, 2)!.value as Uint8Array;
        attributes[name] = new DataView(v.buffer, v.byteOffset, 4).getFloat32(0, true);
      } else if (type === 2) attributes[name] = Number(BigInt.asIntN(64, one(af, 3)!.value as bigint));
      else if (type === 7) attributes[name] = all(af, 8).map((v) => Number(BigInt.asIntN(64, v.value as bigint)));
      else throw new Error(`attribute ${name}: type ${type} not read`);
    }
    return {
      op: text(one(f, 4)!.value),
      name: text(one(f, 3)!.value),
      inputs: all(f, 1).map((v) => text(v.value)),
      outputs: all(f, 2).map((v) => text(v.value)),
      attributes,
    };
  });
  const initializers = all(graph, 5).map((t) => {
    const f = fields(t.value as Uint8Array);
    return { name: text(one(f, 8)!.value), dims: all(f, 1).map((d) => Number(d.value)), bytes: (one(f, 9)!.value as Uint8Array).length };
  });
  return {
    irVersion: Number(one(model, 1)!.value),
    opsets: all(model, 8).map((o) => {
      const f = fields(o.value as Uint8Array);
      return { domain: one(f, 1) ? text(one(f, 1)!.value) : '', version: Number(one(f, 2)!.value) };
    }),
    nodes,
    initializers,
    inputs: all(graph, 11).map((v) => valueInfo(v.value as Uint8Array)),
    outputs: all(graph, 12).map((v) => valueInfo(v.value as Uint8Array)),
    metadata: Object.fromEntries(
      all(model, 14).map((e) => {
        const f = fields(e.value as Uint8Array);
        return [text(one(f, 1)!.value), text(one(f, 2)!.value)];
      }),
    ),
  };
}
