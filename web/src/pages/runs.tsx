// Being built (issue 15): replaced by the page itself.
import type { PageProps } from '../app';
import { Page } from '../ui/components';

export function RunsPage(_props: PageProps) {
  return <Page title="runs">{null}</Page>;
}
