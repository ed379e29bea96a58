#!/usr/bin/env python3
"""Golden fixtures for the Go offline-RL updates, small enough to commit.

Extends ../shared/bench/golden_torch.py (same tensor-dump format, same update code from
bench_torch.py) with hidden width 32 instead of 256, so the fixtures stay small, and adds TD3+BC
and discrete CQL. TD3+BC's target-policy noise is recorded (torch.randn_like is wrapped) and dumped
as batch<k>/noise (raw N(0,1) draws) so the Go update can replay it.

Usage (from the repository root; needs Debian's python3-torch):
  /usr/bin/python3 framework/algo/offline/testdata/gen_golden.py --bench /work/shared/bench
writes plugins/{bc,iql,td3bc,cql}/testdata/golden/<algo>/{manifest.json,data.bin}.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default="../shared/bench")
    ap.add_argument("--root", default=".")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--only", choices=["all", "cql_variants"], default="all",
                    help="cql_variants: write only the CORL CQL option fixtures (Lagrange, max-target backup, "
                         "entropy backup)")
    args = ap.parse_args()
    if args.only == "cql_variants":
        cql_variants(args)
        return
    sys.path.insert(0, args.bench)
    import bench_torch as bt
    import golden_torch as gt

    bt.BATCH = args.batch
    torch.set_num_threads(1)
    H = (args.hidden, args.hidden)
    out = lambda algo: os.path.join(args.root, "plugins", algo, "testdata", "golden")
    common = {"hidden": list(H), "batch": args.batch, "adam": {"betas": [0.9, 0.999], "eps": 1e-8}}

    torch.manual_seed(0); np.random.seed(0)
    bc = bt.DiscreteBC(hidden=H)
    gt.run("bc_discrete", bc, {"net": bc.net}, bt.Data(10, n_actions=40, n=1024), args.steps, out("bc"),
           dict(common, obs_dim=10, n_actions=40, lr=1e-3, beta_logit_l2=0.5))

    torch.manual_seed(0); np.random.seed(0)
    iql = bt.IQL(hidden=H)
    gt.run("iql", iql, {"q1": iql.q1, "q2": iql.q2, "q1_t": iql.q1_t, "q2_t": iql.q2_t, "vf": iql.vf,
                        "actor": iql.actor}, bt.Data(17, act_dim=6, n=1024), args.steps, out("iql"),
           dict(common, obs_dim=17, act_dim=6, lr=3e-4, expectile=0.7, beta=3.0, exp_adv_max=100.0,
                discount=0.99, tau=0.005, actor_cosine_T_max=1_000_000))

    torch.manual_seed(0); np.random.seed(0)
    cql = bt.DiscreteCQL(hidden=H, lr=1e-3, target_update_interval=2)
    gt.run("cql_discrete", cql, {"q": cql.q, "q_t": cql.q_t}, bt.Data(10, n_actions=40, n=1024),
           args.steps, out("cql"),
           dict(common, obs_dim=10, n_actions=40, lr=1e-3, alpha=1.0, gamma=0.99, target_update_interval=2))

    # TD3+BC: record the policy noise drawn inside train() and dump it with the batch.
    torch.manual_seed(0); np.random.seed(0)
    td3 = bt.TD3BC(hidden=H)
    drawn = []
    orig = torch.randn_like

    def recording(t, *a, **k):
        r = orig(t, *a, **k)
        drawn.append(r.clone())
        return r

    class Recorder:
        def __init__(self, algo):
            self.algo = algo

        def train(self, batch):
            drawn.clear()
            torch.randn_like = recording
            try:
                return self.algo.train(batch)
            finally:
                torch.randn_like = orig

    class Writer(gt.Writer):
        pass

    # run() writes batches before training; write the noise as an extra tensor per step afterwards.
    w = gt.Writer(os.path.join(out("td3bc"), "td3bc"))
    modules = {"actor": td3.actor, "actor_t": td3.actor_t, "c1": td3.c1, "c2": td3.c2,
               "c1_t": td3.c1_t, "c2_t": td3.c2_t}
    for n, m in modules.items():
        w.add_module(f"init/{n}", m)
    data = bt.Data(17, act_dim=6, n=1024)
    rec, losses = Recorder(td3), []
    for k in range(max(args.steps, 4)):  # ≥4 steps so two delayed actor updates happen
        batch = data.sample()
        for f, t in zip(["obs", "act", "rew", "next_obs", "done"], batch):
            w.add(f"batch{k}/{f}", t)
        losses.append(rec.train(batch))
        w.add(f"batch{k}/noise", drawn[0])
        for n, m in modules.items():
            w.add_module(f"step{k}/{n}", m)
    w.close(dict(common, obs_dim=17, act_dim=6, lr=3e-4, alpha=2.5, discount=0.99, tau=0.005,
                 policy_noise=0.2, noise_clip=0.5, policy_freq=2, steps=len(losses)), losses)
    print("td3bc", losses)
    cql_continuous(args)
    cql_variants(args)



def corl_cql_class(bt):
    """bench_torch.CQL with the options of CORL's ContinuousCQL (algorithms/offline/cql.py) that the
    benchmark leaves out: cql_lagrange (log_alpha_prime = Scalar(1.0) with its own Adam, α' =
    clamp(exp(log α'), 0, 1e6), penalty α'·cql_alpha·(diff − cql_target_action_gap), α' loss
    −½·(penalty₁ + penalty₂) stepped inside _q_loss), cql_max_target_backup (max over n_actions
    samples of min(Q1', Q2'), log π gathered at the argmax) and backup_entropy (target − α·log π).
    The random draws happen in the same order as in bench_torch.CQL and CORL."""

    class CORLCQL(bt.CQL):
        def __init__(self, lagrange=False, target_action_gap=-1.0, alpha_prime_lr=None,
                     max_target_backup=False, backup_entropy=False, **kw):
            super().__init__(**kw)
            self.lagrange, self.gap = lagrange, target_action_gap
            self.max_target_backup, self.backup_entropy = max_target_backup, backup_entropy
            self.log_alpha_prime = torch.nn.Parameter(torch.tensor(1.0))
            self.alpha_prime_opt = torch.optim.Adam([self.log_alpha_prime],
                                                    lr=alpha_prime_lr or kw.get("qf_lr", 3e-4))

        def train(self, batch):
            F = torch.nn.functional
            obs, act, rew, next_obs, done = batch
            rew, done = rew.squeeze(-1), done.squeeze(-1)
            new_a, log_pi = self.actor(obs)
            alpha_loss = -(self.log_alpha * (log_pi + self.target_entropy).detach()).mean()
            alpha = self.log_alpha.exp()
            q_new = torch.min(self.c1(obs, new_a), self.c2(obs, new_a))
            policy_loss = (alpha * log_pi - q_new).mean()
            q1p, q2p = self.c1(obs, act), self.c2(obs, act)
            if self.max_target_backup:
                nna, nlp = self.actor(next_obs, repeat=self.n)
                tq, idx = torch.max(torch.min(self.c1_t(next_obs, nna), self.c2_t(next_obs, nna)), dim=-1)
                nlp = torch.gather(nlp, -1, idx.unsqueeze(-1)).squeeze(-1)
            else:
                nna, nlp = self.actor(next_obs)
                tq = torch.min(self.c1_t(next_obs, nna), self.c2_t(next_obs, nna))
            if self.backup_entropy:
                tq = tq - alpha * nlp
            td_target = (rew + (1.0 - done) * self.discount * tq).detach()
            qf1_loss, qf2_loss = F.mse_loss(q1p, td_target), F.mse_loss(q2p, td_target)
            b = act.shape[0]
            rand_a = act.new_empty((b, self.n, self.act_dim)).uniform_(-1, 1)
            cur_a, cur_lp = self.actor(obs, repeat=self.n)
            nxt_a, nxt_lp = self.actor(next_obs, repeat=self.n)
            cur_a, cur_lp, nxt_a, nxt_lp = cur_a.detach(), cur_lp.detach(), nxt_a.detach(), nxt_lp.detach()
            rd = math.log(0.5**self.act_dim)
            diffs = []
            for c, qp in ((self.c1, q1p), (self.c2, q2p)):
                cat = torch.cat([c(obs, rand_a) - rd, c(obs, nxt_a) - nxt_lp, c(obs, cur_a) - cur_lp], 1)
                diffs.append((torch.logsumexp(cat, dim=1) - qp).mean())
            if self.lagrange:
                alpha_prime = torch.clamp(torch.exp(self.log_alpha_prime), min=0.0, max=1000000.0)
                l1 = alpha_prime * self.cql_alpha * (diffs[0] - self.gap)
                l2 = alpha_prime * self.cql_alpha * (diffs[1] - self.gap)
                self.alpha_prime_opt.zero_grad()
                alpha_prime_loss = (-l1 - l2) * 0.5
                alpha_prime_loss.backward(retain_graph=True)
                self.alpha_prime_opt.step()
            else:
                l1, l2 = diffs[0] * self.cql_alpha, diffs[1] * self.cql_alpha
                alpha_prime = obs.new_tensor(0.0)
            qf_loss = qf1_loss + qf2_loss + l1 + l2
            log = {"policy_loss": policy_loss.item(), "qf_loss": qf_loss.item(), "alpha": alpha.item(),
                   "alpha_prime": alpha_prime.item()}
            self.alpha_opt.zero_grad()
            alpha_loss.backward()
            self.alpha_opt.step()
            self.a_opt.zero_grad()
            policy_loss.backward()
            self.a_opt.step()
            self.c1_opt.zero_grad()
            self.c2_opt.zero_grad()
            qf_loss.backward()
            self.c1_opt.step()
            self.c2_opt.step()
            bt.soft_update(self.c1_t, self.c1, self.tau)
            bt.soft_update(self.c2_t, self.c2, self.tau)
            return log

    return CORLCQL


def cql_variants(args):
    """CORL's CQL options (see corl_cql_class), one fixture each, recorded like cql_continuous."""
    sys.path.insert(0, args.bench)
    import bench_torch as bt
    cls = corl_cql_class(bt)
    # Lagrange (CORL antmaze: cql_alpha 5, gap 0.8) with max-target backup.
    cql_continuous(args, "cql_lagrange", cls, dict(cql_alpha=5.0, lagrange=True, target_action_gap=0.8,
                                                   max_target_backup=True))
    # Entropy backup alone (one target sample per state).
    cql_continuous(args, "cql_backup_entropy", cls, dict(backup_entropy=True))


def cql_continuous(args, name="cql", cls=None, opts=None):
    """CORL CQL (bench_torch.CQL, 2 hidden layers) with every random draw recorded.

    Dumped per step: batch<k>/normal<i> (the standard-normal draws of the five actor samples in
    call order: π(s) for the policy loss, π(s') for the target, uniform actions are batch<k>/uniform,
    then π(·|s) and π(·|s') repeated n_actions times) so the Go update can replay them. With cls
    and opts (corl_cql_class) the fixture is written to golden/<name> with log_alpha_prime added.
    """
    sys.path.insert(0, args.bench)
    import bench_torch as bt
    import golden_torch as gt
    import torch.distributions.normal as tdn

    bt.BATCH = args.batch
    torch.manual_seed(0); np.random.seed(0)
    H = (args.hidden, args.hidden)
    opts = opts or {}
    cql = (cls or bt.CQL)(hidden=H, policy_lr=1e-3, qf_lr=1e-3, n_actions=3, **opts)
    normals, uniforms = [], []
    orig_sn, orig_u = tdn._standard_normal, torch.Tensor.uniform_

    def sn(*a, **k):
        r = orig_sn(*a, **k)
        normals.append(r.clone())
        return r

    def un(self, *a, **k):
        r = orig_u(self, *a, **k)
        uniforms.append(r.clone())
        return r

    out = os.path.join(args.root, "plugins", "cql", "testdata", "golden", name)
    w = gt.Writer(out)
    modules = {"actor": cql.actor, "c1": cql.c1, "c2": cql.c2, "c1_t": cql.c1_t, "c2_t": cql.c2_t}
    for n, m in modules.items():
        w.add_module(f"init/{n}", m)
    w.add("init/log_alpha", cql.log_alpha)
    if opts:
        w.add("init/log_alpha_prime", cql.log_alpha_prime)
    data = bt.Data(17, act_dim=6, n=1024)
    losses = []
    for k in range(args.steps):
        batch = data.sample()
        for f, t in zip(["obs", "act", "rew", "next_obs", "done"], batch):
            w.add(f"batch{k}/{f}", t)
        normals.clear(); uniforms.clear()
        tdn._standard_normal, torch.Tensor.uniform_ = sn, un
        try:
            losses.append(cql.train(batch))
        finally:
            tdn._standard_normal, torch.Tensor.uniform_ = orig_sn, orig_u
        assert len(normals) == 4 and len(uniforms) == 1, (len(normals), len(uniforms))
        for i, t in enumerate(normals):
            w.add(f"batch{k}/normal{i}", t)
        w.add(f"batch{k}/uniform", uniforms[0])
        for n, m in modules.items():
            w.add_module(f"step{k}/{n}", m)
        w.add(f"step{k}/log_alpha", cql.log_alpha)
        if opts:
            w.add(f"step{k}/log_alpha_prime", cql.log_alpha_prime)
    w.close(dict(dict(hidden=list(H), batch=args.batch, obs_dim=17, act_dim=6, policy_lr=1e-3, qf_lr=1e-3,
                      cql_alpha=10.0, n_actions=3, discount=0.99, tau=5e-3), **opts), losses)
    print(name, losses)


if __name__ == "__main__":
    main()
