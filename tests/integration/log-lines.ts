/** The JSON log lines a Node process printed on stdout, parsed; a line that is not JSON fails the test. */
export function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout has a line that is not JSON: ${line}`);
      }
    });
}

/** The access-log lines (`msg: "request"`) among them. */
export function accessLines(stdout: string): Record<string, unknown>[] {
  return logLines(stdout).filter((line) => line.msg === 'request');
}
