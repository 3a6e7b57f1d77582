// Environment variables set for one test and put back after it (call `restore` in afterEach).
export function envScope() {
  const saved: Record<string, string | undefined> = {};
  return {
    /** Sets (or, with undefined, unsets) variables, remembering their values from before. */
    set(vars: Record<string, string | undefined>) {
      for (const [k, v] of Object.entries(vars)) {
        if (!(k in saved)) saved[k] = process.env[k];
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
    restore() {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
        delete saved[k];
      }
    },
  };
}
