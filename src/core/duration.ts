const two = (n: number) => String(n).padStart(2, '0');

/** A duration as people read it on a phone: 0:07 -> "00:07", 1 h 2 min -> "1:02:00". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const rest = `${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
  return hours > 0 ? `${hours}:${rest}` : rest;
}
