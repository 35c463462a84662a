/**
 * Kiln: run TensorFlow models converted to `.kiln` bundles, in WebAssembly.
 *
 * One ES module for Node (>= 18) and browsers, no dependencies. A bundle is made once, on your
 * machine, by `kiln-convert model.json -o model.kiln`; then:
 *
 * ```js
 * import { load } from 'kiln';
 * const model = await load('model.kiln');
 * const { out } = await model.run({ x: new Float32Array([1, 2, 3, 4]) });
 * console.log(out.data, out.shape);
 * model.dispose();
 * ```
 *
 * @packageDocumentation
 */

/** The version of this package (and of the kiln.wasm it ships with). */
export const version: string;

/** The element types of Kiln tensors. `bool` is one byte per element, 0 or 1. */
export type DType = 'float32' | 'int32' | 'uint8' | 'bool';

/**
 * The TypedArray that holds each dtype's data: Float32Array for `float32`, Int32Array for
 * `int32`, Uint8Array for `uint8` and `bool`.
 */
export interface DTypeArray {
  float32: Float32Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/** Any of the TypedArrays a tensor's data may be held in. */
export type TensorData = DTypeArray[DType];

/** What a model takes or gives: a tensor's name, element type and (fixed) shape. */
export interface TensorInfo {
  /** The TensorFlow name: `"node"` for a node's output 0, `"node:N"` for output N. */
  readonly name: string;
  readonly dtype: DType;
  /** The dims, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
}

/**
 * One input of {@link Model.run}, either:
 * - its data alone, in the TypedArray of the input's dtype (see {@link DTypeArray}; a
 *   Uint8ClampedArray such as `ImageData.data` is also taken for `uint8`), or a plain Array
 *   of numbers (converted), holding exactly as many elements as the input's shape has,
 *   row-major; or
 * - `{data, shape}`, where `shape` must equal the input's shape (it is checked).
 */
export type Feed = TensorData | Uint8ClampedArray | number[] | { data: TensorData | Uint8ClampedArray | number[]; shape: readonly number[] };

/** One output of {@link Model.run}. */
export interface Tensor {
  /** A copy of the output's data, in the TypedArray of its dtype; yours to keep. */
  data: TensorData;
  shape: number[];
  dtype: DType;
}

/** Which kiln.wasm build runs a model: `kiln.wasm` (SIMD128) or `kiln-scalar.wasm` (no SIMD). */
export type WasmBuild = 'simd128' | 'scalar';

/** A loaded model with its own WebAssembly instance and activation memory. */
export interface Model {
  /** The wasm build this model runs on (read from the module itself, also when given in {@link LoadOptions.wasm}). */
  readonly build: WasmBuild;
  /** The model's inputs, in order: every one must be fed to {@link Model.run}. */
  readonly inputs: readonly TensorInfo[];
  /** The model's outputs, in order: {@link Model.run} returns each by name. */
  readonly outputs: readonly TensorInfo[];
  /**
   * Runs the model once.
   *
   * @param feeds - an object mapping every input's name to its {@link Feed}.
   * @returns an object mapping every output's name to its {@link Tensor}.
   * @throws {@link KilnError} with status `'invalid argument'` for a missing or unknown input,
   *   a TypedArray of the wrong type for the input's dtype, or a wrong length or shape (the
   *   message names the input, what was expected and what was given), or when the model has
   *   been disposed; any other failure of the runtime is a {@link KilnError} too.
   */
  run(feeds: Record<string, Feed>): Promise<Record<string, Tensor>>;
  /**
   * Frees the model's memory (its context, tables and the copy of the bundle). The model
   * cannot be run afterwards (runs throw a {@link KilnError}); calling `dispose` again does
   * nothing.
   */
  dispose(): void;
}

/** Where kiln.wasm is, or the module itself. */
export type WasmSource = string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;

/** Options of {@link load}. */
export interface LoadOptions {
  /**
   * The runtime: a URL (string or URL object; in Node also a file path), its bytes, or an
   * already compiled `WebAssembly.Module`. Default: the best build this engine runs, next to
   * `kiln.js`: `kiln.wasm` (SIMD128) where {@link wasmFeatures} says `simd`, else
   * `kiln-scalar.wasm` (found with `new URL('./kiln.wasm', import.meta.url)`, which bundlers
   * understand). It is read with fs in Node and fetched in browsers, and compiled while it
   * downloads (`WebAssembly.compileStreaming`) when the server sends
   * `Content-Type: application/wasm`, else downloaded, then compiled.
   * A module given by location is compiled once per location and shared by later loads; each
   * model still gets its own instance.
   */
  wasm?: WasmSource;
  /**
   * Called as the bundle's bytes arrive: `loaded` bytes so far of `total` (the file's size or
   * the HTTP Content-Length; `undefined` when the server does not say, e.g. for a compressed
   * response). Called at least once, last with all the bytes; for a bundle given as bytes,
   * once.
   */
  onProgress?: (loaded: number, total: number | undefined) => void;
}

/**
 * Loads a `.kiln` bundle. Its bytes are copied once into the model's WebAssembly memory,
 * fully validated (header, checksum, every table and step) and kept until
 * {@link Model.dispose}. A bundle fetched or read from a file goes straight into that memory
 * as it arrives (when its size is known beforehand), so it is never held twice; the download
 * starts while the runtime compiles.
 *
 * @param model - the bundle: a URL (string or URL object: http(s), relative to the page in a
 *   browser, `file:` or a plain file path in Node), its bytes (ArrayBuffer or Uint8Array / any
 *   ArrayBufferView), or a `fetch` Response.
 * @throws {@link KilnError} when the bundle is bad: status `'bad bundle'` for a truncated or
 *   corrupt one (the message says what and where), `'unsupported'` for a format version or op
 *   this runtime does not have, `'out of memory'`. A failed fetch or file read throws that
 *   Error; a `model` of another type, a TypeError.
 */
export function load(model: string | URL | ArrayBuffer | ArrayBufferView | Response, options?: LoadOptions): Promise<Model>;

/** Status names of {@link KilnError.status}, by {@link KilnError.code}. */
export type KilnStatus = 'invalid argument' | 'bad bundle' | 'unsupported' | 'out of memory' | 'runtime error';

/**
 * The error of every failure in the runtime, and of bad arguments to {@link Model.run}.
 * `message` is the runtime's own (e.g. `bundle says it is 560 bytes but 500 were given
 * (truncated?)`).
 */
export class KilnError extends Error {
  name: 'KilnError';
  /** The C API's kiln_status: 1 invalid argument, 2 bad bundle, 3 unsupported, 4 out of memory, 5 runtime error. */
  code: number;
  /** The status's name: `'invalid argument'`, `'bad bundle'`, ... */
  status: KilnStatus;
  /**
   * For an internal error (a WebAssembly trap, which is a bug in Kiln): the original
   * `WebAssembly.RuntimeError`. The model it happened in can no longer be used.
   */
  cause?: unknown;
}

/**
 * The WebAssembly features of this engine that Kiln's builds use: SIMD128 (Chrome 91+,
 * Firefox 89+, Safari 16.4+, Node 16.4+) picks `kiln.wasm`; without it `kiln-scalar.wasm`
 * runs (about 5× slower). {@link Model.build} says which one a model runs on.
 */
export function wasmFeatures(): { simd: boolean };
