import type { ChildProcess } from 'node:child_process';

/**
 * Watches a child's standard output (its JSON log) from now on: the function returned
 * resolves with the first line matching `pattern` once it is written, or rejects when the
 * child exits without writing one.
 */
export function watchOutput(child: ChildProcess, name: string): (pattern: RegExp) => Promise<string> {
  let out = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal as unknown as number))));
  return (pattern) =>
    new Promise<string>((resolve, reject) => {
      const look = () => {
        const line = out.split('\n').find((candidate) => pattern.test(candidate));
        if (line === undefined) return false;
        child.stdout?.off('data', look);
        resolve(line);
        return true;
      };
      if (look()) return;
      child.stdout?.on('data', look);
      exited.then((ending) => reject(new Error(`${name} exited (${ending}) before writing a line matching ${pattern}`)));
    });
}
