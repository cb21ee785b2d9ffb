"""`build.py eval`: perplexity, mask density and execution reduction of the masks of every
predictor of SPEC section 8 (lapa, sanger, topk, symlo; dense is the reference) and of an oracle
with exact scores, on a real language model (SmolLM2-135M on a Wikipedia excerpt); with a sweep,
also ALOC against the symmetric LO scheme and MRSA rounds at matched density.
See `evaluation/` and SPEC sections 3, 7 and 8.

  build.py eval                                   one setting (the options below), ctx 1024, 8 windows
  build.py eval --sweep full --ctx 1024,2048 --windows 8,4
  build.py eval --merge reports/a reports/b --out reports/eval   combine finished runs
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time

from ..errors import UserError

_SETTING_HELP = "speculation setting (ignored with --sweep)"


def register(sub):
    p = sub.add_parser("eval", help="accuracy of LAPA's masks on SmolLM2-135M (perplexity, "
                       "density, execution reduction)", description=__doc__)
    p.add_argument("--ctx", default="1024", help="context length(s), e.g. 1024 or 1024,2048 (default 1024)")
    p.add_argument("--windows", default="8", help="windows per context, one value or one per --ctx (default 8)")
    p.add_argument("--layers", default="all", help="layers with predicted masks, others dense (default all)")
    p.add_argument("--sweep", default="none", help="none (one setting), quick, main, full, sanger, symlo or table (default none)")
    p.add_argument("--predictors", default="lapa,dense,sanger,topk,symlo,oracle",
                   help="subset of lapa,dense,sanger,topk,symlo,oracle (default all; dense always runs)")
    p.add_argument("--analysis", choices=("auto", "on", "off"), default="auto",
                   help="ALOC vs symmetric LO error on the calibration window (auto: with --sweep main/full)")
    p.add_argument("--out", default="reports/eval", help="report folder (default reports/eval)")
    p.add_argument("--cache-dir", default=os.path.join("build", "cache"), help="token cache (default build/cache)")
    p.add_argument("--export-vectors", metavar="DIR", default=None,
                   help="also write SPEC 6 vector files of real layers into DIR")
    p.add_argument("--export-layers", default="0", help="layers to export (default 0)")
    p.add_argument("--export-predictor", default="lapa",
                   help="predictor of the exported files: lapa, dense, sanger, topk, symlo (default lapa)")
    p.add_argument("--export-tokens", type=int, default=None,
                   help="tokens per exported file, at most --ctx (default 128, or --ctx if smaller)")
    p.add_argument("--merge", nargs="+", metavar="DIR", default=None,
                   help="only combine the report.json of finished runs into --out")
    p.add_argument("--resume", action="store_true",
                   help="keep the results already in --out/report.json and skip their jobs")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    g = p.add_argument_group(_SETTING_HELP)
    g.add_argument("--ddf-mode", default="margin", help="range or margin (default margin, see README)")
    g.add_argument("--round-bits", default="6,2", help="MRSA slices (default 6,2)")
    g.add_argument("--eta", default="0.5", help="range-mode eta per round, 0..1 (default 0.5)")
    g.add_argument("--margin-nats", default="6", help="margin-mode delta per round in nats (default 6)")
    g.add_argument("--w-lo-mode", default="round", help="floor or round (default round)")
    g.add_argument("--w-lo-mant-bits", default="0", help="0 or 1 (default 0)")
    g.add_argument("--sg-prob", default="0.002", help="sanger keep threshold, a probability (default 0.002)")
    g.add_argument("--topk-keep", default="match",
                   help="topk keys per row as a fraction of L, or 'match' (LAPA's density; default match)")
    p.set_defaults(func=run)


def _ints(text, name):
    try:
        vals = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        raise UserError(f"{name} = {text!r}: expected comma-separated integers") from None
    if not vals:
        raise UserError(f"{name} = {text!r}: expected at least one integer")
    return vals


def _setting(args):
    from evaluation.settings import Setting, parse_floats

    mant = _ints(args.w_lo_mant_bits, "--w-lo-mant-bits")
    (sg_prob,) = _one(parse_floats(args.sg_prob, "--sg-prob"), "--sg-prob")
    keep = None if args.topk_keep == "match" else _one(parse_floats(args.topk_keep, "--topk-keep"),
                                                      "--topk-keep")[0]
    for name, val, ok in (("--sg-prob", sg_prob, 0.0 <= sg_prob <= 1.0),
                          ("--topk-keep", keep, keep is None or 0.0 < keep <= 1.0)):
        if not ok:
            raise UserError(f"{name} = {val}: out of range ({'0..1' if name == '--sg-prob' else '(0, 1]'})")
    return Setting(ddf_mode=args.ddf_mode, round_bits=_ints(args.round_bits, "--round-bits"),
                   eta=parse_floats(args.eta, "--eta"),
                   margin_nats=parse_floats(args.margin_nats, "--margin-nats"),
                   w_lo_mode=args.w_lo_mode, w_lo_mant_bits=mant[0], sg_prob=sg_prob, topk_keep=keep)


def _one(vals, name):
    if len(vals) != 1:
        raise UserError(f"{name} = {','.join(map(str, vals))}: expected one number")
    return vals


def _plan(args):
    from evaluation.driver import PREDICTORS
    from evaluation.sweep import GRIDS, grid

    from evaluation.driver import parse_layers
    from evaluation.gguf_model import MODEL_CONTEXT, MODEL_LAYERS

    ctxs = _ints(args.ctx, "--ctx")
    wins = _ints(args.windows, "--windows")
    for c in ctxs:   # refused before the model loads; the loaded model's own values are checked again
        if not 2 <= c <= MODEL_CONTEXT:
            raise UserError(f"--ctx = {c}: must be in 2..{MODEL_CONTEXT} (the model's context length)")
    for w in wins:
        if not 1 <= w <= 10000:
            raise UserError(f"--windows = {w}: must be in 1..10000")
    parse_layers(args.layers, MODEL_LAYERS)
    parse_layers(args.export_layers, MODEL_LAYERS, "--export-layers")
    if len(wins) == 1:
        wins = wins * len(ctxs)
    if len(wins) != len(ctxs):
        raise UserError(f"--windows = {args.windows!r}: give one value or one per --ctx ({len(ctxs)})")
    preds = tuple(p.strip() for p in args.predictors.split(",") if p.strip())
    bad = [p for p in preds if p not in PREDICTORS]
    if bad or not preds:
        raise UserError(f"--predictors = {args.predictors!r}: choose from {', '.join(PREDICTORS)}")
    single = _setting(args)   # validated even under --sweep
    if args.sweep == "none":
        settings = [(single, tuple(p for p in PREDICTORS if p != "dense"), None)]
    elif args.sweep in GRIDS:
        settings = grid(args.sweep)
    else:
        raise UserError(f"--sweep = {args.sweep!r}: must be none, {', '.join(GRIDS)}")
    if args.export_tokens is None:
        args.export_tokens = min(128, min(ctxs))
    elif not 1 <= args.export_tokens <= min(ctxs):
        raise UserError(f"--export-tokens = {args.export_tokens}: must be in 1..{min(ctxs)} (--ctx)")
    jobs = [(s, tuple(p for p in ps if p in preds), m) for s, ps, m in settings]
    if not any(ps for _, ps, _ in jobs) and preds != ("dense",):
        raise UserError(f"--predictors = {args.predictors!r}: no setting of --sweep {args.sweep} uses them")
    return list(zip(ctxs, wins)), [(s, ps, m) for s, ps, m in jobs if ps]


def _read_report(folder):
    path = os.path.join(folder, "report.json")
    try:
        with open(path) as f:
            data = json.load(f)
        return data["results"], data["meta"]
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"{path}: cannot read a report ({exc})") from None


def _key(rec):
    return rec["ctx"], rec["windows"], rec["predictor"], json.dumps(rec["setting"], sort_keys=True)


def _merge(args):
    from evaluation.report import write_report

    by_key, metas, analysis = {}, [], {}
    for d in args.merge:
        recs, meta = _read_report(d)
        for r in recs:   # the same job in two runs: the later run's record wins (no duplicate rows)
            by_key[_key(r)] = r
        metas.append(meta)
        analysis.update(meta.get("analysis") or {})
    records = list(by_key.values())
    write_report(records, args.out, {"merged": list(args.merge), "runs": metas, "analysis": analysis})
    print(f"wrote {args.out}/report.md, report.json, tradeoff.png ({len(records)} results)")


def run(args):
    if args.merge:
        return _merge(args)
    from evaluation.analysis import prediction_error
    from evaluation.driver import Evaluation, Progress, parse_layers
    from evaluation.export import export_vectors
    from evaluation.gguf_model import shared_model
    from evaluation.report import write_report
    from evaluation.sweep import DEFAULT_SETTING, REFERENCE_SETTING

    plan, jobs = _plan(args)
    if args.export_predictor not in ("lapa", "dense", "sanger", "topk", "symlo"):
        raise UserError(f"--export-predictor = {args.export_predictor!r}: must be one of "
                        "lapa, dense, sanger, topk, symlo")
    analysis = args.analysis == "on" or (args.analysis == "auto" and args.sweep in ("main", "full"))
    progress = Progress(quiet=args.quiet)
    progress("loading SmolLM2-135M")
    model = shared_model()
    export_layers = parse_layers(args.export_layers, model.config.n_layers, "--export-layers")
    meta = {"command": "build.py eval " + " ".join(shlex.quote(a) for a in sys.argv[2:]),
            "layers": args.layers, "analysis": {}}
    t0 = time.monotonic()
    records = []
    if args.resume and os.path.isfile(os.path.join(args.out, "report.json")):
        old, old_meta = _read_report(args.out)
        records = [r for r in old if r["predictor"] != "dense"]
        meta["analysis"] = old_meta.get("analysis", {})
    done_keys = {_key(r) for r in records}
    total = len(plan) * sum(len(ps) for _, ps, _ in jobs)
    done = 0
    for ctx, n_win in plan:
        ev = Evaluation(ctx, n_win, args.layers, args.cache_dir, progress, model=model)
        records.insert(0, ev.dense_record())
        progress(f"ctx {ctx}: dense perplexity {ev.dense['ppl']:.3f}")
        if args.export_vectors and ctx == plan[0][0]:
            setting = jobs[0][0] if jobs else DEFAULT_SETTING
            for path in export_vectors(ev, setting, export_layers, args.export_vectors,
                                       args.export_tokens, args.export_predictor):
                print(f"wrote {path}")
        if analysis and str(ctx) not in meta["analysis"]:
            progress(f"ctx {ctx}: ALOC against the symmetric LO scheme on the calibration window")
            meta["analysis"][str(ctx)] = prediction_error(ev, REFERENCE_SETTING)
            write_report(records, args.out, meta)
        for setting, kinds, match in jobs:
            extra = {}
            if match is not None:
                setting, got, want = ev.match_margin(setting, match)
                extra = {"matched_to": match.label, "calib_density": got, "calib_target_density": want}
            for kind in kinds:
                done += 1
                label = setting.label_for(kind)
                if (ctx, n_win, kind, json.dumps(setting.to_dict(), sort_keys=True)) in done_keys:
                    progress(f"[{done}/{total}] ctx {ctx} {kind} {label}: kept from {args.out}")
                    continue
                rec = {**ev.run(kind, setting), **extra}
                records.append(rec)
                progress(f"[{done}/{total}] ctx {ctx} {kind:6s} {label}: ppl {rec['ppl']:.3f} "
                         f"({100 * rec['ppl_change']:+.2f}%), density {100 * rec['density']:.1f}%, "
                         f"exec. reduction {100 * rec['exec_reduction']:.1f}%")
                meta["duration_s"] = round(time.monotonic() - t0, 1)
                write_report(records, args.out, meta)
    meta["duration_s"] = round(time.monotonic() - t0, 1)
    write_report(records, args.out, meta)
    print(f"wrote {args.out}/report.md, report.json, tradeoff.png")
