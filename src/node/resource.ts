import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  resourceFromAttributes,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources';

type Env = Record<string, string | undefined>;

const DETECTORS: Record<string, ResourceDetector> = {
  serviceinstance: serviceInstanceIdDetector,
  process: processDetector,
  host: hostDetector,
  os: osDetector,
  env: envDetector,
};

/**
 * The resource the Node SDK would build: its default attributes, then the detectors
 * OTEL_NODE_RESOURCE_DETECTORS names (default all: service instance, process, host, os, env),
 * then `service.name` = `tributary` unless OTEL_SERVICE_NAME names it. Traces and metrics share it.
 *
 * @example
 * const resource = await nodeResource(process.env, console.warn);
 */
export async function nodeResource(env: Env, warn: (line: string) => void): Promise<Resource> {
  const names = (env.OTEL_NODE_RESOURCE_DETECTORS ?? 'all').split(',').map((s) => s.trim()).filter(Boolean);
  let detectors: ResourceDetector[];
  if (names.includes('all') || names.length === 0) detectors = Object.values(DETECTORS);
  else if (names.includes('none')) detectors = [];
  else {
    detectors = [];
    for (const name of names) {
      const detector = DETECTORS[name];
      if (detector) detectors.push(detector);
      else warn(`tributary: OTEL_NODE_RESOURCE_DETECTORS names "${name}", which is not a detector (${Object.keys(DETECTORS).join(', ')}, all, none); ignored`);
    }
  }
  let resource = defaultResource().merge(detectResources({ detectors }));
  if (!env.OTEL_SERVICE_NAME) resource = resource.merge(resourceFromAttributes({ 'service.name': 'tributary' }));
  // Host and process attributes may arrive asynchronously; every span must carry them.
  await resource.waitForAsyncAttributes?.();
  return resource;
}
