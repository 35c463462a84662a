/**
 * `kiln/worker`: Kiln off the main thread, with the API of `kiln` (see kiln.d.ts). Each model
 * loads into its own Worker (a module Web Worker in browsers, a `worker_threads` Worker in
 * Node), so a long run never blocks the page; several models run in parallel.
 *
 * ```js
 * import { load } from 'kiln/worker';
 * const model = await load('model.kiln');
 * const { out } = await model.run({ x: pixels }, { transfer: true }); // pixels' buffer moves
 * model.dispose(); // ends the worker
 * ```
 *
 * Outputs always come back transferred (no copy). Inputs are copied to the worker unless
 * `{transfer: true}` moves them: then the ArrayBuffer behind each input is detached on the
 * caller's side (its length becomes 0) — the whole buffer, also for a view into a bigger one.
 *
 * @packageDocumentation
 */
import type { Feed, KilnError, LoadOptions, Tensor, TensorInfo, WasmBuild } from './kiln.js';

export { KilnError, version, wasmFeatures } from './kiln.js';
export type { DType, DTypeArray, Feed, KilnStatus, LoadOptions, Tensor, TensorData, TensorInfo, WasmBuild, WasmSource } from './kiln.js';

/** Options of {@link load}: those of kiln's load, plus `transfer`. */
export interface WorkerLoadOptions extends LoadOptions {
  /**
   * Move a bundle given as bytes to the worker instead of copying it (its ArrayBuffer is
   * detached here). A bundle given as a URL or path is read by the worker itself; a
   * `Response` is read here and always moved. `wasm`, when given, must be a URL, a path, bytes
   * or a `WebAssembly.Module` (all can be sent to a worker); relative URLs are relative to the
   * page, as with kiln's load.
   */
  transfer?: boolean;
}

/** Options of {@link WorkerModel.run}. */
export interface RunOptions {
  /** Move the inputs' ArrayBuffers to the worker instead of copying them. Default false. */
  transfer?: boolean;
}

/** A model loaded in its own Worker. */
export interface WorkerModel {
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly build: WasmBuild;
  /**
   * Runs the model once in its worker; runs of one model are queued in order. Same feeds,
   * results and {@link KilnError}s as kiln's `Model.run`.
   */
  run(feeds: Record<string, Feed>, options?: RunOptions): Promise<Record<string, Tensor>>;
  /**
   * Ends the worker, which frees everything the model held; runs still pending reject.
   * Calling it again does nothing.
   */
  dispose(): void;
}

/**
 * Starts a Worker and loads a `.kiln` bundle in it (see kiln's `load`). Progress
 * (`options.onProgress`) is reported from the worker as the bundle arrives.
 */
export function load(model: string | URL | ArrayBuffer | ArrayBufferView | Response, options?: WorkerLoadOptions): Promise<WorkerModel>;
