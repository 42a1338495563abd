/** Explicit state enums with a transition table: an illegal transition is a bug, so it throws loudly. */

export class IllegalTransitionError extends Error {
  constructor(machine: string, from: string, to: string) {
    super(`${machine}: illegal transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export class StateMachine<S extends string> {
  private current: S;

  constructor(
    private readonly machine: string,
    initial: S,
    private readonly allowed: Readonly<Record<S, readonly S[]>>,
  ) {
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  is(...states: S[]): boolean {
    return states.includes(this.current);
  }

  to(next: S): void {
    if (!this.allowed[this.current].includes(next)) throw new IllegalTransitionError(this.machine, this.current, next);
    this.current = next;
  }
}
