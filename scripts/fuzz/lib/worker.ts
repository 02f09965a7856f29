import { parentPort, workerData } from 'node:worker_threads';
import { findTarget } from '../targets/index.js';
import { type CampaignOptions, runCampaign } from './campaign.js';
import { CaseRecorder } from './recorder.js';

/** One campaign in a worker thread, so the supervisor can time it out, cap its heap and read its current case. */
export interface WorkerInput {
  target: string;
  options: Omit<CampaignOptions, 'recorder' | 'onProgress'>;
  record: SharedArrayBuffer;
}

const input = workerData as WorkerInput;
const target = findTarget(input.target);
if (!target) throw new Error(`no fuzz target ${input.target}`);
const result = await runCampaign(target, {
  ...input.options,
  recorder: new CaseRecorder(input.record),
  onProgress: (progress) => parentPort!.postMessage({ type: 'progress', progress }),
});
parentPort!.postMessage({ type: 'done', result });
