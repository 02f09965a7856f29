import type { FastifyRequest } from 'fastify';
import type { OfficerRole } from './officers.js';
import type { Session } from './sessions.js';

/**
 * The session the auth gate found for a request, kept beside the request rather than
 * decorated onto fastify's types (which would change them for every fastify user).
 */
interface Authenticated {
  id: string;
  session: Session;
}

const authenticated = new WeakMap<FastifyRequest, Authenticated>();

export function attachSession(request: FastifyRequest, id: string, session: Session): void {
  authenticated.set(request, { id, session });
}

export function currentSession(request: FastifyRequest): Session | undefined {
  return authenticated.get(request)?.session;
}

export function currentSessionId(request: FastifyRequest): string | undefined {
  return authenticated.get(request)?.id;
}

/** The session of a route behind the gate (the gate guarantees there is one). */
export function sessionOf(request: FastifyRequest): Session {
  const s = authenticated.get(request)?.session;
  if (!s) throw new Error('route reached without a session: the auth gate is not installed');
  return s;
}

export function hasRole(session: Session, role: OfficerRole): boolean {
  return session.roles.includes(role);
}
