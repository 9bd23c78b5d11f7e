// The RESP codec: request decoder (resp-decoder.ts) and reply encoder (resp-encoder.ts).
export * from './resp-decoder.js';
export * from './resp-encoder.js';
