// Re-exported from here so that openapi-typescript resolves its TypeScript 5 peer beside it.
export { default, astToString } from 'openapi-typescript';
