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
