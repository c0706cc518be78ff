/** Props whose fields with a default are never undefined. */
export type WithDefaults<D, P> = Omit<P, keyof D> & {
  readonly [K in keyof D]-?: K extends keyof P ? NonNullable<P[K]> | D[K] : D[K];
};

/** `props` over `defaults`: a prop left out, or given as undefined, takes its default. */
export function withDefaults<D extends object, P extends object>(defaults: D, props: P): WithDefaults<D, P> {
  const given = Object.fromEntries(Object.entries(props).filter(([, value]) => value !== undefined));
  return { ...defaults, ...given } as WithDefaults<D, P>;
}
