export { openApiDocument, type OpenApiOptions } from './document.ts';
export { fieldJsonSchema, responseJsonSchema, type JsonSchema } from './json-schema.ts';
