//! Lowering Sequences and Parallels onto generated channels and subscriptions
//! (knative-semantics.md §4.1, §4.2): part of [`super`].

use super::*;

impl Lowering<'_> {
    pub(super) fn lower_sequences(&mut self) {
        let topo = self.topo;
        for s in &topo.sequences {
            self.mark = self.errors.len();
            let (ns, n) = (&s.meta.namespace, &s.meta.name);
            let o = s.meta.origin.clone();
            let Some(&first) = self.nodes.get(&key("sequence", ns, n)) else {
                continue;
            };
            let template = s.channel_template.delivery.as_ref();
            for (i, step) in s.steps.iter().enumerate() {
                let via = format!("Sequence/{ns}/{n}/step/{i}");
                let from = first + i as NodeId;
                let sub = self.target(&step.destination, &o, &via);
                let reply = if i + 1 < s.steps.len() {
                    Some(ReplyTo::Node(from + 1))
                } else {
                    match &s.reply {
                        Some(d) => self.reply_to(d, format!("Sequence/{ns}/{n}/reply"), &o, &via),
                        None => None,
                    }
                };
                let policy = merge(step.delivery.as_ref(), template);
                let kind = EdgeKind::Subscription;
                self.add_edge(from, kind, via, Filter::None, sub, reply, policy, &o);
            }
        }
    }

    pub(super) fn lower_parallels(&mut self) {
        let topo = self.topo;
        for p in &topo.parallels {
            self.mark = self.errors.len();
            let (ns, n) = (&p.meta.namespace, &p.meta.name);
            let o = p.meta.origin.clone();
            let Some(&ingress) = self.nodes.get(&key("parallel", ns, n)) else {
                continue;
            };
            let template = p.channel_template.delivery.as_ref();
            for (i, b) in p.branches.iter().enumerate() {
                let branch = ingress + 1 + i as NodeId;
                let via = format!("Parallel/{ns}/{n}/branch/{i}/filter");
                let kind = EdgeKind::Subscription;
                // The filter hop gets the channel template's delivery only (§4.2).
                let policy = merge(None, template);
                match &b.filter {
                    Some(f) => {
                        let sub = self.target(f, &o, &via);
                        let reply = Some(ReplyTo::Node(branch));
                        self.add_edge(ingress, kind, via, Filter::None, sub, reply, policy, &o);
                    }
                    None => {
                        let sub = Some(Target::Node(branch));
                        self.add_edge(ingress, kind, via, Filter::None, sub, None, policy, &o);
                    }
                }
                let via = format!("Parallel/{ns}/{n}/branch/{i}/subscriber");
                let sub = self.target(&b.subscriber, &o, &via);
                let reply = match (&b.reply, &p.reply) {
                    (Some(d), _) => {
                        self.reply_to(d, format!("Parallel/{ns}/{n}/branch/{i}/reply"), &o, &via)
                    }
                    (None, Some(d)) => {
                        self.reply_to(d, format!("Parallel/{ns}/{n}/reply"), &o, &via)
                    }
                    (None, None) => None,
                };
                let policy = merge(b.delivery.as_ref(), template);
                self.add_edge(branch, kind, via, Filter::None, sub, reply, policy, &o);
            }
        }
    }
}
