// Recharts charts of a metrics Series (loaded lazily: this module and Recharts are their own chunk).

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';

import type { Series } from '../api/types';

const COLORS: Record<string, string> = {
  succeeded: '#00FF88',
  failed: '#FF3B30',
  rolled_back: '#FF9500',
  timed_out: '#FF9500',
  cancelled: '#8E94A3',
};
const LABELS: Record<string, string> = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  rolled_back: 'Rolled back',
  timed_out: 'Timed out',
  cancelled: 'Cancelled',
};

function label(stepSeconds: number) {
  return (iso: string) => {
    const d = new Date(iso);
    return stepSeconds < 86_400
      ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
      : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  };
}

/** Stacked bars of the per-status counts of each bucket (`total` is left out: it is the stack's height). */
export default function SeriesChart({ series, title }: { series: Series; title: string }) {
  const keys = [...new Set(series.buckets.flatMap((b) => Object.keys(b.values)))].filter((k) => k !== 'total' && k !== 'count');
  keys.sort((a, b) => Object.keys(COLORS).indexOf(a) - Object.keys(COLORS).indexOf(b));
  const data = series.buckets.filter((b) => b.start).map((b) => ({ start: b.start as string, ...b.values }));
  const total = series.buckets.reduce((sum, b) => sum + (b.values.total ?? 0), 0);
  return (
    <figure aria-label={`${title}: ${total} in the window`} className="h-56 w-full">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 4, right: 4, bottom: 0, left: -20 }}>
          <CartesianGrid stroke="#2E3650" strokeDasharray="3 3" vertical={false} />
          <XAxis dataKey="start" tickFormatter={label(series.stepSeconds)} stroke="#8E94A3" fontSize={11} tickLine={false} minTickGap={24} />
          <YAxis allowDecimals={false} stroke="#8E94A3" fontSize={11} tickLine={false} axisLine={false} />
          <Tooltip
            cursor={{ fill: 'rgba(0,217,255,0.06)' }}
            contentStyle={{ background: '#1E2538', border: '1px solid #2E3650', borderRadius: 8, fontSize: 12 }}
            labelStyle={{ color: '#FFFFFF' }}
            labelFormatter={(v) => new Date(String(v)).toLocaleString()}
          />
          <Legend wrapperStyle={{ fontSize: 12, color: '#8E94A3' }} iconType="circle" iconSize={8} />
          {keys.map((k) => (
            <Bar key={k} dataKey={k} name={LABELS[k] ?? k} stackId="s" fill={COLORS[k] ?? '#00D9FF'} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
