// Names for user ids: the organization's members (readable by every role), so "who is here" and each
// message's author read as names or email addresses rather than ids. Oneself is "You". Someone not known
// yet (added to the organization after the page loaded) makes the list load again, once per newcomer.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { getSession } from '../../lib/session';

interface Member {
  user_id: string;
  email: string;
  full_name: string | null;
}

export function usePeople(): (userId: string | null) => string {
  const [names, setNames] = useState<Record<string, string>>({});
  const [round, setRound] = useState(0);
  const asked = useRef(new Set<string>());
  const missing = useRef(new Set<string>());
  useEffect(() => {
    const ctl = new AbortController();
    api<{ data: Member[] }>('/api/v1/organizations/current/members?limit=100', { signal: ctl.signal }).then(
      (r) => setNames(Object.fromEntries(r.data.map((m) => [m.user_id, m.full_name || m.email]))),
      () => undefined, // Names are a nicety: without them ids are shown.
    );
    return () => ctl.abort();
  }, [round]);
  // After each render: anyone shown by id who was not looked up yet triggers one more load.
  useEffect(() => {
    const fresh = [...missing.current].filter((u) => !asked.current.has(u));
    missing.current.clear();
    if (fresh.length === 0) return;
    for (const u of fresh) asked.current.add(u);
    setRound((r) => r + 1);
  });
  const me = getSession()?.user.id;
  return (userId) => {
    if (!userId) return 'Someone';
    if (userId === me) return 'You';
    const known = names[userId];
    if (known) return known;
    missing.current.add(userId);
    return `User ${userId.slice(0, 8)}`;
  };
}
