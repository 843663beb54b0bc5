/**
 * The zod builders the config and input schemas use, imported by name so that a bundler (the
 * Worker's) can leave the rest of zod out — its translated error messages above all.
 */
import { array, boolean, enum as enumOf, json, literal, number, object, record, strictObject, string, union, unknown } from 'zod';

export const z = { array, boolean, enum: enumOf, json, literal, number, object, record, strictObject, string, union, unknown };
export type { input, output, ZodError, ZodOptional, ZodRecord, ZodString, ZodType } from 'zod';
