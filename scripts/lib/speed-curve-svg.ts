/** Read fraction against speed, with the physical limit and 80 % of it marked. */
export function speedCurveSvg(points: Array<{ kmh: number; fraction: number }>, limitKmh: number): string {
  const w = 640;
  const h = 400;
  const left = 60;
  const right = 20;
  const top = 50;
  const bottom = 50;
  const maxKmh = Math.max(100, Math.ceil((limitKmh * 1.1) / 20) * 20);
  const x = (kmh: number) => left + (kmh / maxKmh) * (w - left - right);
  const y = (f: number) => top + (1 - f) * (h - top - bottom);
  const ticksX = Array.from({ length: maxKmh / 20 + 1 }, (_, i) => i * 20);
  const ticksY = [0, 0.25, 0.5, 0.75, 0.9, 1];
  const path = points
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.kmh).toFixed(1)},${y(p.fraction).toFixed(1)}`)
    .join(' ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">
<rect width="${w}" height="${h}" fill="#fff"/>
<text x="${w / 2}" y="18" text-anchor="middle" font-size="14">110-lock train, 16 KiB manifests, 8 connections, 1M PHY, 5 % loss: locks read vs speed</text>
${ticksY.map((f) => `<line x1="${left}" x2="${w - right}" y1="${y(f)}" y2="${y(f)}" stroke="#ddd"/><text x="${left - 6}" y="${y(f) + 4}" text-anchor="end">${Math.round(f * 100)} %</text>`).join('\n')}
${ticksX.map((k) => `<text x="${x(k)}" y="${h - bottom + 18}" text-anchor="middle">${k}</text>`).join('\n')}
<text x="${w / 2}" y="${h - 10}" text-anchor="middle">train speed, km/h</text>
<line x1="${x(limitKmh)}" x2="${x(limitKmh)}" y1="${top}" y2="${h - bottom}" stroke="#c00" stroke-width="2"/>
<text x="${x(limitKmh) - 4}" y="${top + 14}" text-anchor="end" fill="#c00">physical limit ${limitKmh.toFixed(0)} km/h</text>
<line x1="${x(limitKmh * 0.8)}" x2="${x(limitKmh * 0.8)}" y1="${top}" y2="${h - bottom}" stroke="#c00" stroke-dasharray="4 4"/>
<text x="${x(limitKmh * 0.8) - 4}" y="${top + 30}" text-anchor="end" fill="#c00">80 %</text>
<line x1="${left}" x2="${left}" y1="${top}" y2="${h - bottom}" stroke="#000"/>
<line x1="${left}" x2="${w - right}" y1="${h - bottom}" y2="${h - bottom}" stroke="#000"/>
<path d="${path}" fill="none" stroke="#06c" stroke-width="2"/>
${points.map((p) => `<circle cx="${x(p.kmh).toFixed(1)}" cy="${y(p.fraction).toFixed(1)}" r="4" fill="#06c"/><text x="${x(p.kmh).toFixed(1)}" y="${(y(p.fraction) - 8).toFixed(1)}" text-anchor="middle">${(p.fraction * 100).toFixed(0)} %</text>`).join('\n')}
</svg>
`;
}
