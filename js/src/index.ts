// The ESM entry point (polysock.mjs): the PolySock class, its option defaults and types.
// Nothing is installed globally; call PolySock.polyfill() for that.
export * from "./polysock.js";
