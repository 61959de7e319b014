/**
 * The web-platform globals that src/kernels, src/redo, src/datagen, src/formats and src/run use and that every
 * runtime they run in has (a page, a worker, Node). tsconfig.core.json type-checks those folders with these and the
 * ES library only, in place of the DOM and Node typings: a DOM or Node API used there fails `npm run typecheck`.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}

declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}

declare function atob(data: string): string;

/** The part of the WebAssembly JS API that src/kernels/simdConv.ts uses (every runtime above has it). */
declare namespace WebAssembly {
  class Memory {
    readonly buffer: ArrayBuffer | SharedArrayBuffer;
  }
  class Module {
    constructor(bytes: Uint8Array<ArrayBuffer>);
  }
  function validate(bytes: Uint8Array<ArrayBuffer>): boolean;
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
}
