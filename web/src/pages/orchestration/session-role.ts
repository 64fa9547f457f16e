// The signed-in user's role and id, for showing only the controls the API would accept (it still decides).
import type { Role } from '../../lib/api';
import { getSession } from '../../lib/session';

export const getSessionRole = (): Role | undefined => getSession()?.user.role;
export const getSessionUserId = (): string | undefined => getSession()?.user.id;
