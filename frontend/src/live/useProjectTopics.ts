// The topic that covers "every pipeline the caller may see": the gateway's `pipelines` topic (state changes only, no
// log lines), one subscription whatever the number of projects, so lists and the overview never need to poll.

/** One stable object, so effects that depend on the topics do not resubscribe on every render. */
const ALL_PIPELINES: { topics: string[]; complete: boolean } = { topics: ['pipelines'], complete: true };

/** What a page subscribes to for every pipeline; `complete`: the one topic covers them all. */
export function useProjectTopics(): { topics: string[]; complete: boolean } {
  return ALL_PIPELINES;
}
