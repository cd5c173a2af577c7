/**
 * Error classes raised by alexnet-cuda. Argument mistakes are plain `TypeError` / `RangeError`
 * (with messages naming the parameter); failures of the machine or its libraries are these.
 * @module
 */

/** A library or driver call failed (CUDA, cuDNN, cuBLAS, oneDNN); the message names the call and status. */
export class BackendError extends Error {
  /** 'BackendError', or the subclass's name. */
  override readonly name: string = 'BackendError';
  /** 'ERR_BACKEND', or the subclass's code: a stable code to test instead of the message. */
  readonly code: string = 'ERR_BACKEND';
}

/**
 * The device (or host) ran out of memory. The process can go on: dispose tensors you no longer
 * need, or retry with a smaller batch.
 */
export class OutOfMemoryError extends BackendError {
  /** Always 'OutOfMemoryError'. */
  override readonly name = 'OutOfMemoryError';
  /** Always 'ERR_OUT_OF_MEMORY'. */
  override readonly code = 'ERR_OUT_OF_MEMORY';
}

/** The CUDA context hit a sticky error; the process must restart to use the GPU again. */
export class DeviceLostError extends BackendError {
  /** Always 'DeviceLostError'. */
  override readonly name = 'DeviceLostError';
  /** Always 'ERR_DEVICE_LOST'. */
  override readonly code = 'ERR_DEVICE_LOST';
}

/**
 * A graph capture failed (a call the graph cannot hold, or memory the warm-up did not provide). The
 * step capture logic catches it, logs one line and runs the step without a graph.
 */
export class CaptureError extends BackendError {
  /** Always 'CaptureError'. */
  override readonly name = 'CaptureError';
  /** Always 'ERR_CAPTURE'. */
  override readonly code = 'ERR_CAPTURE';
}

/** A backend that was asked for cannot run here; `reasons` lists what is missing and how to get it. */
export class BackendUnavailableError extends BackendError {
  /** Always 'BackendUnavailableError'. */
  override readonly name = 'BackendUnavailableError';
  /** Always 'ERR_BACKEND_UNAVAILABLE'. */
  override readonly code = 'ERR_BACKEND_UNAVAILABLE';
  constructor(
    message: string,
    /** What is missing (driver, library, device) and how to get it, one entry each. */
    readonly reasons: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Re-raises an error thrown by the native addon as the matching class (TypeError and RangeError pass through). */
export function translateNativeError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof BackendError) return error;
  const code = (error as { code?: unknown }).code;
  switch (code) {
    case 'ERR_OUT_OF_MEMORY':
      return new OutOfMemoryError(error.message);
    case 'ERR_DEVICE_LOST':
      return new DeviceLostError(error.message);
    case 'ERR_CAPTURE':
      return new CaptureError(error.message);
    case 'ERR_BACKEND':
      return new BackendError(error.message);
    case 'ERR_BACKEND_UNAVAILABLE':
      return new BackendUnavailableError(error.message, [error.message]);
    default:
      return error;
  }
}

/** Calls into the native addon, translating its errors. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translateNativeError(error);
  }
}
