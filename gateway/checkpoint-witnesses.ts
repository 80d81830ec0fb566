import type { SignedCheckpoint } from '../audit/store';
import type { Logger } from '../lib/logger';

export interface CheckpointWitnessesOptions {
  /** Sends one checkpoint to one department to witness; rejects, saying why, when the department did not take it (data-source.ts witnessCheckpoint). */
  send: (department: string, checkpoint: SignedCheckpoint) => Promise<void>;
  /** Told of every push, delivered or not (metrics); default nothing. */
  observe?: (department: string, isDelivered: boolean) => void;
  /** Where failed pushes are logged; default nowhere. */
  log?: Logger;
}

export interface CheckpointWitnesses {
  /** The gateway called `department`: it is sent the gateway's next checkpoint. */
  noteCalled(department: string): void;
  /** Sends `checkpoint` to every department called since the last one (the audit log's onCheckpoint); resolves once every push has ended, never rejects. */
  witness(checkpoint: SignedCheckpoint): Promise<void>;
  /** Resolves once every push under way has ended (before the gateway's connections close). */
  settled(): Promise<void>;
}

/**
 * Witnessed checkpoints, gateway -> departments (issue 18): each checkpoint of the
 * gateway's audit chain goes to every department the gateway called since the one
 * before, which records it in its own access log. Records the gateway's store then loses
 * after a checkpoint a department witnessed are missed by that department's log, so no
 * one holding the gateway's store alone can cut them without trace.
 *
 * A push that fails (the department down, its answer without a valid receipt) is
 * logged and counted, never fatal to the gateway or its audit log; its department stays
 * owed and is sent the next checkpoint, which names every one before it.
 */
export function checkpointWitnesses(options: CheckpointWitnessesOptions): CheckpointWitnesses {
  let called = new Set<string>();
  const underWay = new Set<Promise<void>>();
  const push = async (department: string, checkpoint: SignedCheckpoint) => {
    try {
      await options.send(department, checkpoint);
      options.observe?.(department, true);
    } catch (error) {
      called.add(department);
      options.observe?.(department, false);
      options.log?.warn(
        { department, chainId: checkpoint.chainId, sequence: checkpoint.sequence, reason: (error as Error).message },
        `the ${department} department did not witness checkpoint ${checkpoint.sequence}; it is sent the next one`,
      );
    }
  };
  return {
    noteCalled(department) {
      called.add(department);
    },
    witness(checkpoint) {
      const departments = [...called];
      called = new Set();
      const pushes = Promise.all(departments.map((department) => push(department, checkpoint))).then(() => undefined);
      underWay.add(pushes);
      void pushes.finally(() => underWay.delete(pushes));
      return pushes;
    },
    async settled() {
      await Promise.all([...underWay]);
    },
  };
}
