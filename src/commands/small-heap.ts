// V8's --optimize-for-size for the controller process. Node refuses it in NODE_OPTIONS (so the chart cannot set it
// there) and the image's entrypoint is shared with the webhook, whose request CPU it was not measured for; set
// before the command loads its modules, it takes effect for the heap the caches grow into (docs/performance.md).
import { setFlagsFromString } from 'node:v8';

export function preferSmallHeap(): void {
  setFlagsFromString('--optimize-for-size');
}
