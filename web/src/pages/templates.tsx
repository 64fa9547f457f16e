// Being built (issue 15): replaced by the page itself.
import type { PageProps } from '../app';
import { Page } from '../ui/components';

export function TemplatesPage(_props: PageProps) {
  return <Page title="templates">{null}</Page>;
}
