"""Synthetic knowledge base for load and latency tests.

Copies the bundled demo knowledge (knowledge/: shop.yaml, products, rules, scripts, lexicon,
faq) into a new folder and appends generated FAQ entries to faq/generated.yaml until the
entry count (FAQs + products + rules + scripts, as `assist kb validate` counts them) reaches
--entries.

Generated entries cross synthetic products of the demo shop's own brand (series name ×
product type × model number, e.g. 云杉 青岚1.7L电热水壶 KT215) with about 30 question types
(面料, 尺码, 保修, 发货, 库存, 颜色, 价格, 洗涤, 功率, 安装 ...). Every product gets a fixed
spec (price, colours, stock, material, power ...) so all of its answers agree with each other,
and the answers follow the demo shop's rules (rule_ids cite them). Each entry has a canonical
question, 5 paraphrases in shopper style (亲 / 在吗, 繁体, emoji, lower case or full-width
model numbers) and an answer.

Why the model number is in every phrasing: `assist kb validate` refuses a phrasing shared by
two entries, and real catalogues are full of near-identical questions about different
products; the model number is what tells them apart (as it does for a human agent).

Deterministic: the same --seed gives byte-identical output, and a smaller KB's generated
entries are a prefix of a larger one's (faq-gen-1 … faq-gen-k are the same for every size),
so results at different sizes are comparable.

    python benchmarks/synth_kb.py --entries 10000 --out /tmp/kb10k
    assist kb validate --knowledge /tmp/kb10k
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO / "knowledge"
GENERATED_FILE = "faq/generated.yaml"
MARKER = ".synth_kb.json"  # marks a folder this script wrote, so --force only ever deletes those
PARAPHRASES = 5
UPDATED_AT = dt.date(2026, 11, 1)  # fixed, so output does not depend on the day it is run

Category = Literal["apparel", "appliance"]

# --- products ---------------------------------------------------------------------------------

# Series names inside the one brand the demo shop sells (it is a single-brand flagship store).
SERIES = ("青岚", "暖阳", "山茶", "松风", "云栖", "晴川", "素野", "朗月", "初雪", "南枝", "木槿", "远山",
          "听澜", "白露", "知夏", "北屿", "星河", "微澜", "清禾", "拾光", "若水", "鹿鸣", "栖木", "半夏")
APPAREL_COLORS = ("黑色", "白色", "米白", "燕麦色", "藏青", "雾霾蓝", "卡其", "浅灰", "墨绿", "酒红", "浅粉", "焦糖色")
APPLIANCE_COLORS = ("白色", "奶白", "曜石黑", "浅绿", "雾蓝", "樱花粉", "珍珠白", "深空灰")
ORIGINS = ("浙江嘉兴", "浙江湖州", "江苏常熟", "广东佛山", "广东中山", "福建泉州", "浙江宁波", "广东东莞")
FEELS = ("手感柔软亲肤", "挺括有型不易变形", "垂感好不易皱", "透气不闷，贴身穿也舒服")
PILLING = ("经过抗起球处理（3-4级），色牢度达到国标3级以上", "以天然纤维为主，不易起静电",
           "经过固色处理，色牢度达到国标3级以上")
FITS = (("宽松", "按平时尺码选择即可，喜欢合身效果可以拍小一码"),
        ("修身", "建议拍大一码，肩宽或偏壮的亲拍大一码更舒适"),
        ("标准", "按平时尺码选择即可"))
SIZE_M = {"女款": "M码建议身高160-165cm、体重50-57kg", "男款": "M码建议身高168-175cm、体重58-68kg",
          "中性款": "M码建议身高163-170cm、体重52-62kg"}
SEASONS = {
    "winter": (("加厚", "冬季", "北方冬天搭配毛衣穿也很保暖"), ("常规厚度", "初冬和深秋", "南方冬天可以直接穿，北方建议叠穿")),
    "outer": (("常规厚度", "春秋季", "早晚温差大的时候穿刚好"), ("薄款", "春末和初秋", "单穿或叠穿都合适")),
    "light": (("薄款", "春夏季", "透气不闷热"), ("常规厚度", "春秋季", "可以单穿也可以作内搭")),
    "mid": (("常规厚度", "春秋季", "春秋单穿，冬天可以作内搭"), ("加绒", "秋冬季", "内里加绒，冬天单穿也不冷")),
    "home": (("常规厚度", "四季", "春夏单穿，秋冬建议在室内穿"),),
}


@dataclass(frozen=True)
class ApparelType:
    code: str
    name: str
    genders: tuple[str, ...]
    price: tuple[int, int]
    materials: tuple[str, ...]
    washes: tuple[str, ...]
    season: str
    len_word: str
    length: tuple[int, int]  # M size, cm


@dataclass(frozen=True)
class ApplianceType:
    code: str
    name: str
    price: tuple[int, int]
    power: tuple[int, int, int]  # low, high, step (W)
    capacities: tuple[tuple[str, str], ...]  # (capacity, what it is good for); empty: none to ask about
    noise: tuple[int, int]  # dB
    clean: str
    part: str  # the removable part shoppers ask about washing
    warranties: tuple[int, ...] = (12, 24)
    wall_mount: bool = False  # rule-installation: only the heater is wall-mounted (free installation)


WASH_MACHINE = "可机洗，30℃以下轻柔模式，不可漂白"
WASH_BAG = "可机洗，建议反面装洗衣袋洗涤，平铺或挂起阴干"
WASH_HAND = "建议手洗，水温不超过30℃，不可拧干暴晒"
WASH_DRY = "建议专业干洗，不可水洗"

APPAREL = (
    ApparelType("DJ", "羽绒服", ("女款", "男款"), (299, 1299),
                ("面料100%锦纶，填充90%白鸭绒", "面料100%聚酯纤维（防泼水），填充90%白鹅绒", "面料100%锦纶，填充80%白鸭绒"),
                (WASH_MACHINE, "建议专业羽绒清洗，不可暴晒"), "winter", "衣长", (62, 105)),
    ApparelType("HS", "卫衣", ("女款", "男款", "中性款"), (129, 299),
                ("棉80% 聚酯纤维20%", "100%棉（毛圈布）", "棉60% 聚酯纤维40%（内里磨毛）"), (WASH_MACHINE, WASH_BAG),
                "mid", "衣长", (64, 72)),
    ApparelType("TS", "T恤", ("女款", "男款", "中性款"), (59, 159),
                ("100%新疆长绒棉", "棉95% 氨纶5%", "莫代尔50% 棉50%"), (WASH_MACHINE, WASH_BAG), "light", "衣长", (62, 72)),
    ApparelType("SH", "衬衫", ("女款", "男款"), (129, 329),
                ("100%棉（牛津纺）", "棉70% 亚麻30%", "莱赛尔60% 棉40%"), (WASH_BAG, WASH_HAND), "light", "衣长", (66, 76)),
    ApparelType("JN", "牛仔裤", ("女款", "男款"), (159, 399),
                ("棉98% 氨纶2%", "100%棉（无弹）", "棉92% 聚酯纤维6% 氨纶2%"), (WASH_BAG,), "mid", "裤长", (96, 106)),
    ApparelType("KN", "针织衫", ("女款", "男款"), (159, 499),
                ("羊毛30% 腈纶70%", "100%美利奴羊毛", "棉50% 腈纶50%"), (WASH_HAND, WASH_DRY), "mid", "衣长", (58, 68)),
    ApparelType("TC", "风衣", ("女款", "男款"), (399, 999),
                ("棉65% 聚酯纤维35%", "100%聚酯纤维（防泼水）"), (WASH_DRY, WASH_BAG), "outer", "衣长", (95, 115)),
    ApparelType("PT", "休闲裤", ("女款", "男款"), (129, 299),
                ("棉97% 氨纶3%", "聚酯纤维70% 粘纤28% 氨纶2%"), (WASH_MACHINE, WASH_BAG), "mid", "裤长", (95, 104)),
    ApparelType("DR", "连衣裙", ("女款",), (199, 599),
                ("100%醋酸纤维", "棉60% 亚麻40%", "100%聚酯纤维（雪纺）"), (WASH_HAND, WASH_DRY), "light", "裙长", (95, 120)),
    ApparelType("SJ", "冲锋衣", ("女款", "男款", "中性款"), (399, 1099),
                ("面料100%锦纶（三层压胶防水），内胆摇粒绒", "面料100%聚酯纤维（防泼水）"), (WASH_BAG,),
                "outer", "衣长", (68, 78)),
    ApparelType("PJ", "睡衣套装", ("女款", "男款"), (129, 259),
                ("100%棉", "莫代尔95% 氨纶5%", "100%聚酯纤维（珊瑚绒）"), (WASH_MACHINE, WASH_BAG), "home", "衣长", (64, 70)),
    ApparelType("SP", "运动裤", ("女款", "男款", "中性款"), (99, 259),
                ("聚酯纤维88% 氨纶12%", "棉80% 聚酯纤维20%"), (WASH_MACHINE,), "mid", "裤长", (94, 104)),
    ApparelType("WC", "毛呢大衣", ("女款", "男款"), (599, 1599),
                ("羊毛50% 聚酯纤维50%", "羊毛70% 锦纶30%", "100%羊毛双面呢"), (WASH_DRY,), "winter", "衣长", (95, 115)),
    ApparelType("SK", "半身裙", ("女款",), (129, 329),
                ("100%聚酯纤维", "棉55% 亚麻45%", "醋酸纤维70% 聚酯纤维30%"), (WASH_HAND, WASH_BAG), "light", "裙长", (60, 85)),
)

APPLIANCES = (
    ApplianceType("KT", "电热水壶", (79, 299), (1500, 1800, 100),
                  (("1.5L", "一次约可烧6杯水，适合1-3人"), ("1.7L", "一次约可烧7杯水，适合2-4人"), ("1.8L", "一次约可烧8杯水，适合3-5人")),
                  (50, 60), "内胆为304不锈钢，有水垢时加入柠檬酸和清水煮沸后静置半小时倒掉即可", "滤网", (12,)),
    ApplianceType("RC", "电饭煲", (199, 799), (400, 1200, 100),
                  (("2L", "适合1-3人"), ("3L", "适合1-4人"), ("4L", "适合3-6人"), ("5L", "适合4-8人")),
                  (35, 45), "内胆和内盖可拆卸清洗，内胆是不粘涂层，请用软布或海绵擦洗", "内胆"),
    ApplianceType("AF", "空气炸锅", (199, 499), (1200, 1700, 100),
                  (("3.5L", "适合1-2人"), ("4.5L", "适合2-4人"), ("5.5L", "适合3-5人"), ("6L", "适合4-6人")),
                  (50, 58), "炸篮和烤盘可拆卸，用温水加洗洁精清洗即可", "炸篮", (12,)),
    ApplianceType("BL", "破壁机", (299, 999), (800, 1500, 100), (("1.2L", "适合1-3人"), ("1.75L", "适合3-5人")),
                  (60, 75), "杯体支持一键自清洗，刀组不可拆，请勿用硬物刮擦", "杯体"),
    ApplianceType("HD", "电吹风", (149, 599), (1200, 2000, 100), (), (55, 65), "进风口滤网可拆下用软毛刷清理", "滤网"),
    ApplianceType("HM", "加湿器", (129, 399), (25, 40, 5),
                  (("3L", "满水约可连续加湿10小时"), ("4L", "满水约可连续加湿14小时"), ("6L", "满水约可连续加湿20小时")),
                  (25, 35), "水箱可拆卸清洗，建议每周清洗一次，滤芯为耗材需定期更换", "水箱", (12,)),
    ApplianceType("HT", "暖风机", (199, 599), (1800, 2200, 100), (), (35, 45),
                  "进风口滤网可拆下用软毛刷清理，机身断电后用干布擦拭", "滤网", (12,), wall_mount=True),
    ApplianceType("VC", "吸尘器", (399, 1299), (150, 450, 50),
                  (("尘杯0.5L", "一次约可清扫80平米"), ("尘杯0.6L", "一次约可清扫120平米")),
                  (65, 78), "尘杯和滤网可拆卸水洗，完全晾干后再装回", "尘杯"),
    ApplianceType("MC", "除螨仪", (199, 499), (300, 500, 50), (("尘盒0.3L", "适合一次清理1-2张床"),),
                  (60, 70), "尘盒和滤网可拆卸，尘盒可水洗，晾干后再装回", "尘盒"),
    ApplianceType("OV", "电烤箱", (199, 699), (1200, 1600, 100),
                  (("12L", "适合1-2人"), ("20L", "适合2-3人"), ("32L", "适合3-5人")),
                  (40, 50), "烤盘和烤网可拆洗，内壁冷却后用湿布擦拭", "烤盘", (12,)),
    ApplianceType("SM", "豆浆机", (199, 599), (800, 1000, 50), (("1L", "适合1-3人"), ("1.2L", "适合2-4人")),
                  (60, 70), "支持一键清洗，杯体可用清水冲洗，机头不可浸水", "杯体", (12,)),
    ApplianceType("SC", "电炖锅", (129, 399), (100, 300, 50),
                  (("1L", "适合1-2人"), ("2L", "适合2-3人"), ("3L", "适合3-5人")),
                  (25, 35), "陶瓷内胆可拆卸清洗，也可以放进洗碗机", "内胆", (12,)),
    ApplianceType("GS", "挂烫机", (199, 599), (1500, 2000, 100),
                  (("水箱1.2L", "约可连续熨烫40分钟"), ("水箱1.6L", "约可连续熨烫60分钟")),
                  (45, 55), "水箱可拆卸，建议每月用白醋加清水清洗除垢一次", "水箱", (12,)),
    ApplianceType("EF", "电风扇", (129, 399), (25, 45, 5), (), (25, 40), "前网罩和扇叶可拆下清洗", "扇叶", (12,)),
)


@dataclass(frozen=True)
class Product:
    """One synthetic product with everything its answers quote, so they never disagree."""

    category: Category
    model: str
    series: str
    type_name: str
    title: str
    facts: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def mentions(self) -> tuple[str, ...]:
        """How shoppers name it; every form keeps the model number (it keeps phrasings distinct)."""
        m, t, s = self.model, self.type_name, self.series
        full_width = m.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
        return (f"{s}{t}{m}", f"{t}{m}", m, f"{m}{t}", f"{s}{t} {m}", f"{s}{m}", m.lower(), full_width, f"{m}这款")


def _price(rng: random.Random, lo: int, hi: int) -> str:
    return str(rng.randrange(lo // 10, hi // 10 + 1) * 10 + 9)  # shop prices end in 9


def _stock(rng: random.Random, colors: list[str]) -> str:
    # About a third of products have one colour sold out, as in the demo catalogue.
    if len(colors) > 1 and rng.random() < 0.35:
        out = rng.choice(colors)
        rest = "、".join(c for c in colors if c != out)
        return f"{rest}有现货，{out}暂时缺货，补货时间以商品页面为准"
    return "、".join(colors) + "都有现货"


def make_product(rng: random.Random, model: str, kind: ApparelType | ApplianceType) -> Product:
    series = rng.choice(SERIES)
    if isinstance(kind, ApparelType):
        colors = rng.sample(APPAREL_COLORS, rng.randint(2, 4))
        gender = rng.choice(kind.genders)
        thickness, season, tip = rng.choice(SEASONS[kind.season])
        fit, fit_advice = rng.choice(FITS)
        sizes = ["S", "M", "L", "XL"] + (["XXL"] if gender != "女款" else [])
        facts = {
            "material": rng.choice(kind.materials), "feel": rng.choice(FEELS), "wash": rng.choice(kind.washes),
            "thickness": thickness, "season": season, "season_tip": tip, "fit": fit, "fit_advice": fit_advice,
            "sizes": "/".join(sizes), "size_m": SIZE_M[gender], "len_word": kind.len_word,
            "length": str(rng.randint(*kind.length)), "pilling": rng.choice(PILLING),
            "try_word": "试穿", "doc_word": "吊牌", "remote_fee": "10", "courier": "中通或圆通快递",
            "pack": "采用品牌原装包装袋，吊牌齐全",
            "auth_extra": "，吊牌和洗水标与商品信息一致",
            "return_cond": "吊牌完好、未洗涤未穿着、不影响二次销售",
        }
        title = f"{series}{gender}{kind.name}"
        category: Category = "apparel"
        price = _price(rng, *kind.price)
    else:
        colors = rng.sample(APPLIANCE_COLORS, rng.randint(1, 3))
        lo, hi, step = kind.power
        power = rng.randrange(lo, hi + 1, step)
        capacity, cap_note = rng.choice(kind.capacities) if kind.capacities else ("", "")
        noise = rng.randint(*kind.noise)
        facts = {
            "power": str(power), "kwh": f"{power / 1000:g}", "capacity": capacity, "cap_note": cap_note,
            "noise": str(noise),
            "noise_note": "属于比较安静的水平" if noise <= 45 else ("日常使用不会太吵" if noise <= 62
                                                          else "工作时声音偏大，建议避开休息时间使用"),
            "clean": kind.clean, "part": kind.part, "warranty": str(rng.choice(kind.warranties)),
            "plug": "三脚" if power >= 500 else "两脚", "try_word": "试用", "doc_word": "保修卡", "remote_fee": "20",
            "courier": "顺丰快递", "pack": "采用品牌彩盒包装，外面另加快递防震纸箱",
            "auth_extra": "，附产品合格证、说明书和保修卡，机身有唯一序列号",
            "return_cond": "商品及配件、说明书、包装齐全且不影响二次销售",
            "install": (
                "支持壁挂安装，我们提供免费上门安装（含打孔和壁挂支架），墙面需为实心墙；签收后在订单页点“预约安装”"
                "或联系客服，师傅会在预约后48小时内电话联系您上门时间" if kind.wall_mount
                else "是即插即用的，不需要安装，拆箱后按说明书操作就可以用"),
        }
        # A plain volume (3L) is part of the title, as on Tmall; a tank or dust-cup size is not.
        title = f"{series}{capacity if capacity[:1].isdigit() else ''}{kind.name}"
        category = "appliance"
        price = _price(rng, *kind.price)
    facts.update({
        "name": f"{title}（{model}）", "colors": "、".join(colors), "ncolors": str(len(colors)),
        "color1": colors[0], "color2": colors[-1], "stock": _stock(rng, colors), "price": price,
        "origin": rng.choice(ORIGINS),
    })
    return Product(category=category, model=model, series=series, type_name=kind.name, title=title, facts=facts)


def iter_products(seed: int) -> Iterator[Product]:
    """Products in a fixed order; model numbers are unique (type code + number, never reused)."""
    rng = random.Random(f"products-{seed}")
    kinds: list[ApparelType | ApplianceType] = [*APPAREL, *APPLIANCES]
    # Each type draws its numbers from its own shuffled pool: 3 digits for appliances, 4 for apparel.
    pools = {k.code: rng.sample(range(1000, 10000) if isinstance(k, ApparelType) else range(100, 1000),
                                9000 if isinstance(k, ApparelType) else 900) for k in kinds}
    while True:
        kind = rng.choice(kinds)
        if not pools[kind.code]:
            raise RuntimeError(f"out of model numbers for {kind.name}; the generator tops out near 300k entries")
        yield make_product(rng, f"{kind.code}{pools[kind.code].pop()}", kind)


# --- question types ---------------------------------------------------------------------------

@dataclass(frozen=True)
class QType:
    key: str
    scope: Literal["apparel", "appliance", "any"]
    intent: str
    question: str  # {q} is the product as named in the question
    paraphrases: tuple[str, ...]  # {p} is the product as a shopper names it; at least PARAPHRASES + 2
    answer: str | dict[str, str]  # by category when the two differ
    rule_ids: tuple[str, ...] = ()
    needs: str = ""  # a fact the product must have (e.g. capacity)


QTYPES: tuple[QType, ...] = (
    # apparel
    QType("material", "apparel", "product_info", "{q}是什么面料？",
          ("{p}什么面料的", "亲 {p}是纯棉的吗", "{p}的材质是啥", "{p}面料成分發一下", "想问下{p}穿着扎不扎人 什么料子",
           "{p}含不含聚酯纤维啊🤔", "{p}这件料子咋样"),
          "亲，{name}的面料是{material}，{feel}～ 具体成分以吊牌和洗水标为准哦。"),
    QType("size", "apparel", "size_advice", "{q}怎么选尺码？",
          ("{p}160cm 50kg穿啥码", "亲 {p}我平时穿M 拿哪个码", "{p}尺码怎么选啊", "{p}175 70公斤選哪個碼",
           "{p}有尺码表吗 想看下", "帮我看看{p}该买多大的😂", "{p}个子高一点180能穿吗"),
          "亲，{name}有{sizes}几个尺码，是{fit}版型；{size_m}。您告诉我身高体重，我帮您推荐更合适的尺码哦～"),
    QType("fit", "apparel", "size_advice", "{q}尺码偏大还是偏小？",
          ("{p}码数标准吗", "{p}偏大偏小啊", "{p}是正码吗 要不要拍大一码", "{p}会不会偏小😅", "{p}尺碼準不準",
           "{p}宽松的还是修身的", "买{p}需要拍小一号不"),
          "亲，{name}是{fit}版型，{fit_advice}。不确定的话把身高体重发给我，帮您参考～"),
    QType("wash", "apparel", "product_info", "{q}怎么洗？可以机洗吗？",
          ("{p}能机洗吗", "{p}可以水洗不", "{p}洗了会缩水吗", "{p}要干洗吗", "{p}怎麼清洗", "亲 {p}洗的时候要注意啥",
           "{p}能不能扔洗衣机里洗🤣"),
          "亲，{name}{wash}；首次洗涤可能有轻微浮色，属于正常现象，深浅色请分开洗哦～"),
    QType("season", "apparel", "product_info", "{q}厚不厚？适合什么季节穿？",
          ("{p}厚吗", "{p}冬天穿冷不冷", "{p}春秋能穿吗", "{p}是薄款还是加厚的", "{p}適合幾月份穿", "{p}现在这个天穿会热吗",
           "{p}有加绒的吗"),
          "亲，{name}是{thickness}的，适合{season}穿，{season_tip}～"),
    QType("pilling", "apparel", "product_info", "{q}会起球掉色吗？",
          ("{p}起不起球", "{p}会掉色吗", "{p}穿久了会不会起毛球", "{p}洗了褪色不", "{p}會不會掉毛",
           "{p}会染到别的衣服不", "亲 {p}质量怎么样 会起球吗"),
          "亲，{name}面料{pilling}，正常穿着不会明显起球，建议反面洗涤、避免和粗糙面料摩擦；如果收到后有严重掉色等质量问题，"
          "我们按质量问题给您处理，来回运费由我们承担哦～", ("rule-quality-issue",)),
    QType("length", "apparel", "product_info", "{q}{len_word}多少？",
          ("{p}{len_word}多少", "{p}有多长", "{p}M码{len_word}多长", "{p}我一米六穿到哪里", "{p}{len_word}是多少公分",
           "{p}長度多少啊", "{p}会不会太长"),
          "亲，{name}M码{len_word}约{length}cm，其他尺码每档相差约2cm，具体以详情页尺码表为准哦～"),
    # appliances
    QType("power", "appliance", "product_info", "{q}功率多大？",
          ("{p}多少瓦", "{p}功率是多少", "{p}几个瓦的", "{p}老房子电线带得动吗", "{p}功率幾瓦", "{p}额定功率多大啊",
           "亲 {p}是大功率的吗"),
          "亲，{name}额定功率{power}W，电压220V/50Hz，家用普通插座就能用，建议不要和其他大功率电器共用一个插排哦～"),
    QType("energy", "appliance", "product_info", "{q}耗电吗？用一小时多少度电？",
          ("{p}费电吗", "{p}一小时几度电", "{p}耗电量大不大", "{p}开一天要多少电费", "{p}省電嗎", "{p}电费贵不贵😂",
           "{p}是节能的吗"),
          "亲，{name}额定功率{power}W，满功率连续工作1小时约耗电{kwh}度，实际耗电和使用档位、时长有关哦～"),
    QType("capacity", "appliance", "product_info", "{q}容量多大？",
          ("{p}多大容量", "{p}几升的", "{p}够几个人用", "{p}一家三口够用吗", "{p}容量幾升", "{p}装得下多少",
           "{p}是大容量的吗"),
          "亲，{name}容量是{capacity}，{cap_note}～", needs="capacity"),
    QType("warranty", "appliance", "repair_warranty", "{q}保修多久？",
          ("{p}保修几年", "{p}质保多长时间", "{p}全国联保吗", "{p}有没有保修卡", "{p}保固多久", "{p}保修从哪天开始算",
           "{p}过了一年还保修吗"),
          "亲，{name}整机保修{warranty}个月，自签收之日起计算，凭订单号就能保修，不需要纸质发票；签收7天内出现性能故障可以选择退货、"
          "换货或维修，15天内可以换货或维修哦～", ("rule-warranty",)),
    QType("repair", "appliance", "repair_warranty", "{q}坏了怎么维修？",
          ("{p}用了半年坏了 怎么修", "{p}要寄修吗", "{p}维修要钱吗", "{p}送修流程是啥", "{p}壞了怎麼辦", "{p}去哪里修啊",
           "{p}出故障了能上门修吗"),
          "亲，{name}在保修期（{warranty}个月）内出现性能故障是免费维修的，我们安排上门取件、运费由我们承担，售后中心签收后5个工作日内"
          "修好寄回；人为损坏或私自拆修的可以提供付费维修。麻烦发一下订单号和故障视频，我帮您登记～", ("rule-warranty", "rule-repair-sla")),
    QType("fault", "appliance", "quality_issue", "{q}收到后不能用怎么办？",
          ("{p}插上电没反应", "{p}刚买就坏了", "{p}开不了机", "{p}用着有异响", "{p}收到就不工作😭", "{p}一直亮紅燈不動",
           "{p}通电后有焦味"),
          "亲，非常抱歉给您带来不便😔 麻烦拍一段{name}故障的视频和机身铭牌发给我，我们收到后48小时内给您处理方案（退、换或维修），"
          "质量问题来回运费由我们承担；如果有冒烟、焦味、漏电，请立即停止使用并断电哦。", ("rule-quality-issue",)),
    QType("install", "appliance", "product_info", "{q}需要安装吗？",
          ("{p}要不要安装", "{p}有人上门装吗", "{p}安装收费吗", "{p}能挂墙上吗", "{p}插上就能用吗", "{p}需要師傅安裝嗎",
           "{p}自己装得了吗"),
          "亲，{name}{install}～", ("rule-installation",)),
    QType("voltage", "appliance", "product_info", "{q}电压多少？能带出国用吗？",
          ("{p}是220v的吗", "{p}能在国外用吗", "{p}香港能用吗", "{p}110V能用不", "{p}電壓多少", "{p}带去日本能用吗",
           "{p}插头是几孔的"),
          "亲，{name}是国内220V/50Hz电压、国标{plug}插头，不支持110V；使用非220V电源造成的损坏不在免费保修范围内，"
          "出国使用需要自备变压器哦～", ("rule-warranty",)),
    QType("noise", "appliance", "product_info", "{q}声音大吗？",
          ("{p}噪音大不大", "{p}吵不吵", "{p}晚上用会吵到人吗", "{p}有多少分贝", "{p}聲音大嗎", "{p}是静音的吗",
           "{p}工作时候响不响"),
          "亲，{name}工作噪音约{noise}分贝（实验室测试值），{noise_note}，实际感受和使用环境有关哦～"),
    QType("clean", "appliance", "product_info", "{q}怎么清洗？",
          ("{p}好清洗吗", "{p}怎么清洁", "{p}能整个水洗吗", "{p}{part}能拆下来洗吗", "{p}怎麼清潔", "{p}用完咋清理",
           "{p}清洗麻烦不"),
          "亲，{name}{clean}；机身不能整体水洗，清洁前请先断电冷却哦～"),
    # both
    QType("ship_time", "any", "shipping_policy", "{q}什么时候发货？",
          ("{p}几天发货", "{p}今天拍今天能发吗", "{p}啥时候发", "{p}多久发出", "{p}什麼時候出貨", "亲 {p}下午拍的明天能发吗",
           "{p}是预售吗"),
          "亲，{name}是现货，每天16:00前付款当天发出，16:00后付款次日发出，最晚付款后48小时内发货；大促期间以活动页公告为准哦～",
          ("rule-shipping-couriers",)),
    QType("courier", "any", "shipping_policy", "{q}发什么快递？",
          ("{p}发顺丰吗", "{p}走哪个快递", "{p}能指定快递吗", "{p}包邮吗 发啥快递", "{p}發什麼快遞", "{p}可以发邮政吗",
           "{p}用的什么物流"),
          {"apparel": "亲，{name}默认发{courier}并包邮（偏远地区除外），系统按收货地区自动分配；需要改发顺丰的，按实际差价补邮费就可以～",
           "appliance": "亲，{name}默认发{courier}并包邮（偏远地区除外），系统按收货地区自动分配，暂时不支持指定其他快递哦～"},
          ("rule-shipping-couriers",)),
    QType("remote", "any", "shipping_policy", "{q}偏远地区包邮吗？",
          ("{p}寄新疆要加邮费吗", "{p}西藏能发吗", "{p}海南包邮不", "{p}能寄到香港吗", "{p}寄內蒙古要補運費嗎",
           "{p}偏远地区多久能到", "{p}青海收得到吗"),
          "亲，{name}寄往新疆、西藏、青海、内蒙古、宁夏、甘肃、海南每单需补邮费{remote_fee}元（下单时自动计算），时效一般多2-5天；"
          "暂时不支持寄往港澳台和海外哦～", ("rule-shipping-areas",)),
    QType("stock", "any", "stock_availability", "{q}有现货吗？",
          ("{p}还有货吗", "{p}{color1}有没有货", "{p}缺货吗", "{p}什么时候补货", "{p}還有庫存嗎", "{p}{color2}还能买到吗",
           "亲 {p}现在拍有货不"),
          "亲，{name}目前{stock}，以下单页面显示的库存为准哦～"),
    QType("color", "any", "product_info", "{q}有哪些颜色？",
          ("{p}有几个颜色", "{p}有黑色吗", "{p}哪个颜色好看", "{p}{color1}实物色差大吗", "{p}有什麼顏色", "{p}颜色推荐一下😊",
           "{p}白色显脏吗"),
          "亲，{name}有{colors}共{ncolors}个颜色，实物颜色以详情页实拍为准，不同屏幕可能略有色差哦～"),
    QType("price", "any", "price_bargain", "{q}能便宜点吗？",
          ("{p}还能再便宜吗", "{p}多少钱", "{p}最低多少", "{p}能不能少点😂", "{p}可以優惠嗎", "{p}两件能便宜不",
           "老板 {p}抹个零呗"),
          "亲，{name}现在售价¥{price}，已经是店铺活动价啦，客服这边没办法单独改价哦；可以留意店铺首页的优惠券，下单时自动抵扣～"),
    QType("coupon", "any", "promotion_coupon", "{q}有优惠券吗？",
          ("{p}有券吗", "{p}能用满减吗", "{p}参加活动吗", "{p}双十一会更便宜吗", "{p}有沒有優惠券", "{p}怎么领券",
           "{p}能用购物津贴不"),
          "亲，{name}可以使用店铺页面的满减券和平台通用券，优惠以结算页显示为准；后续活动价格以活动页公告为准，客服没法提前承诺哦～"),
    QType("price_protect", "any", "price_bargain", "{q}买了就降价，能退差价吗？",
          ("{p}降价了能补差价吗", "{p}刚买就便宜了", "{p}保价吗", "{p}价保多少天", "{p}降價了退差價嗎",
           "{p}昨天买的今天降了20", "{p}有价格保护不"),
          "亲，{name}自付款之日起15天内本店降价的，可以联系客服申请价保退差价；直播间专享价、秒杀、聚划算等平台活动价和用券造成的差价"
          "不参与价保，每笔订单只能申请一次哦～", ("rule-price-protection",)),
    QType("authenticity", "any", "authenticity", "{q}是正品吗？",
          ("{p}保真吗", "{p}是官方正品吗", "{p}是不是假货啊", "{p}有防伪吗", "{p}是正品嗎 會不會是高仿", "{p}和专柜一样吗",
           "{p}是品牌直营的吗"),
          "亲，{name}是云杉品牌官方旗舰店直营正品，支持天猫正品保障{auth_extra}；如有疑问可以申请平台鉴定，经鉴定为假货的按天猫规则"
          "假一赔四哦～", ("rule-authenticity",)),
    QType("invoice", "any", "invoice", "{q}能开发票吗？",
          ("{p}有发票吗", "{p}能开专票吗", "{p}开票加钱不", "{p}发票怎么开", "{p}可以開發票嗎", "{p}公司报销要发票",
           "{p}发票什么时候给"),
          "亲，{name}可以开发票的，默认开具电子普通发票，金额为实际支付金额，开具后发到订单页“查看发票”和您的邮箱；需要增值税专用发票"
          "可以在订单页提交单位信息，都不收取任何费用哦～", ("rule-invoice",)),
    QType("return", "any", "return_exchange", "{q}支持七天无理由退货吗？",
          ("{p}不喜欢能退吗", "{p}七天无理由吗", "{p}拆开了还能退不", "{p}退货运费谁出", "{p}可以退貨嗎",
           "{p}买回来不合适咋办", "{p}{try_word}了能退吗"),
          "亲，{name}支持七天无理由退货，自签收次日起7天内，{return_cond}就可以在订单页申请；非质量问题寄回运费由您承担，"
          "有运费险的按运费险规则理赔哦～", ("rule-7day-return", "rule-return-shipping")),
    QType("exchange", "any", "return_exchange", "{q}可以换货吗？",
          ("{p}能换个颜色吗", "{p}换货怎么操作", "{p}换货要多久", "{p}换货运费谁出", "{p}可以換嗎", "{p}想换一个 可以吗",
           "{p}换货需要先寄回吗"),
          {"apparel": "亲，{name}签收7天内可以换尺码或颜色（{return_cond}），在订单页申请换货并寄回，寄回运费由您承担，新商品寄出的"
                      "运费由我们承担；质量问题换货来回运费都由我们承担哦～",
           "appliance": "亲，{name}签收7天内可以换颜色（{return_cond}），在订单页申请换货并寄回，寄回运费由您承担，新商品寄出的"
                        "运费由我们承担；质量问题换货来回运费都由我们承担哦～"},
          ("rule-return-shipping",)),
    QType("origin", "any", "product_info", "{q}产地是哪里？",
          ("{p}哪里产的", "{p}是国产的吗", "{p}哪里生产的", "{p}是进口的吗", "{p}產地哪裡", "{p}在哪个厂做的",
           "{p}made in china吗"),
          "亲，{name}产地是{origin}，由云杉品牌自有仓库统一发货哦～"),
    QType("gift", "any", "product_info", "{q}送礼合适吗？包装怎么样？",
          ("{p}有礼盒吗", "{p}送人合适吗", "{p}包装好看吗", "{p}能帮忙写贺卡吗", "{p}有禮品包裝嗎", "{p}发货带不带价格单",
           "{p}送长辈行不行"),
          "亲，{name}{pack}，包裹里不放价格单，可以直接送人；暂时不提供手写贺卡服务哦～"),
    QType("missing", "any", "wrong_missing_item", "{q}收到少了东西怎么办？",
          ("{p}少发了东西", "{p}收到缺配件", "{p}没有说明书", "{p}赠品没收到", "{p}漏发了", "{p}{doc_word}沒有",
           "{p}包裹里少东西😤"),
          "亲，非常抱歉！麻烦在签收后7天内把{name}的快递面单和收到的全部物品拍照发给我，我们1个工作日内核实，确认漏发会免运费给您补发哦～",
          ("rule-wrong-missing",)),
    QType("payment", "any", "payment", "{q}可以分期付款吗？",
          ("{p}能用花呗吗", "{p}支持分期吗", "{p}可以信用卡付款吗", "{p}花唄分期免息嗎", "{p}能找人代付吗", "{p}能先用后付吗",
           "{p}分几期"),
          "亲，{name}支持支付宝、花呗和信用卡付款，能不能分期、是否免息以结算页显示为准哦～"),
)


def _applies(q: QType, p: Product) -> bool:
    return q.scope in ("any", p.category) and (not q.needs or bool(p.facts.get(q.needs)))


# --- generation -------------------------------------------------------------------------------

def generate_faqs(count: int, *, seed: int = 7, known_rules: set[str] | None = None) -> list[dict[str, object]]:
    """`count` FAQ records (dicts in the knowledge format), ids faq-gen-1 … faq-gen-<count>.

    Products come one after another; each gets a shuffled 60-100% of its question types, so the
    KB looks like a catalogue where some products have more FAQ than others."""
    from assist.normalize import normalize_text  # the key `assist kb validate` compares phrasings by

    rng = random.Random(f"faqs-{seed}")
    seen: set[str] = set()
    out: list[dict[str, object]] = []
    for product in iter_products(seed):
        qtypes = [q for q in QTYPES if _applies(q, product)]
        rng.shuffle(qtypes)
        for q in qtypes[: max(1, round(len(qtypes) * rng.uniform(0.6, 1.0)))]:
            if len(out) == count:
                return out
            out.append(_faq(len(out) + 1, q, product, rng, seen, normalize_text, known_rules))
    raise AssertionError("unreachable: iter_products never ends")


def _faq(n: int, q: QType, product: Product, rng: random.Random, seen: set[str],
         normalize: Callable[[str], str], known_rules: set[str] | None) -> dict[str, object]:
    facts = product.facts
    question = q.question.format(q=f"{product.series}{product.type_name}{product.model}", **facts)
    phrasings = [question]
    keys = {normalize(question)}
    templates = list(q.paraphrases)
    rng.shuffle(templates)
    mentions = product.mentions()
    for template in templates:
        if len(phrasings) == PARAPHRASES + 1:
            break
        text = template.format(p=rng.choice(mentions), **facts)
        key = normalize(text)
        if key in keys or key in seen:
            continue  # e.g. 繁体 and 简体 of one wording: validate would count them as one phrasing
        keys.add(key)
        phrasings.append(text)
    if len(phrasings) < PARAPHRASES + 1:
        raise RuntimeError(f"question type {q.key}: not enough distinct paraphrases for {product.model}")
    seen.update(keys)
    answer = q.answer[product.category] if isinstance(q.answer, dict) else q.answer
    record: dict[str, object] = {
        "id": f"faq-gen-{n}", "intent": q.intent, "question": question, "paraphrases": phrasings[1:],
        "answer": answer.format(**facts), "applies_to": {"category": product.category},
    }
    rules = [r for r in q.rule_ids if known_rules is None or r in known_rules]
    if rules:
        record["rule_ids"] = rules
    record["updated_at"] = UPDATED_AT
    return record


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml when available (10k entries in under a second), and no &id001 anchors: the
    shared updated_at date would otherwise become an alias, which is legal but unreadable."""

    def ignore_aliases(self, data: object) -> bool:
        return True


@dataclass(frozen=True)
class Summary:
    out: Path
    entries: int
    demo_entries: int
    generated: int
    seed: int


def count_entries(folder: Path) -> tuple[int, set[str]]:
    """Entries as `assist kb validate` counts them, and the rule ids (FAQs may cite only those)."""
    from assist.knowledge import load_knowledge

    kb, errors = load_knowledge(folder)
    if kb is None:
        raise SystemExit(f"{folder} does not validate:\n" + "\n".join(errors[:20]))
    return len(kb.faqs) + len(kb.products) + len(kb.rules) + len(kb.scripts), set(kb.rules)


def build(entries: int, out: Path, *, seed: int = 7, source: Path = DEFAULT_SOURCE, force: bool = False) -> Summary:
    """Write the synthetic knowledge folder; see the module docstring."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not (force and (out / MARKER).exists()):
            raise SystemExit(f"{out} is not empty; pass --force to replace a folder this script wrote")
        shutil.rmtree(out)
    demo, rules = count_entries(source)
    if entries < demo:
        raise SystemExit(f"--entries {entries} is below the {demo} entries of the demo knowledge in {source}")
    shutil.copytree(source, out, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("generated.yaml", MARKER, "__pycache__", ".*"))
    faqs = generate_faqs(entries - demo, seed=seed, known_rules=rules)
    header = (f"# Generated by benchmarks/synth_kb.py --entries {entries} --seed {seed}; do not edit.\n"
              "# Synthetic products of the demo shop, for load and latency tests only.\n")
    body = yaml.dump({"version": 1, "faqs": faqs}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096)
    (out / GENERATED_FILE).write_text(header + body, encoding="utf-8")
    (out / MARKER).write_text(json.dumps({"entries": entries, "seed": seed, "source": str(source)}) + "\n",
                              encoding="utf-8")
    return Summary(out=out, entries=entries, demo_entries=demo, generated=len(faqs), seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, required=True, help="total entries: FAQs + products + rules + scripts")
    parser.add_argument("--out", type=Path, required=True, help="knowledge folder to write (must be empty or new)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="demo knowledge to copy (default: knowledge/)")
    parser.add_argument("--force", action="store_true", help="replace --out if this script wrote it before")
    args = parser.parse_args(argv)
    s = build(args.entries, args.out, seed=args.seed, source=args.source, force=args.force)
    print(f"{s.out}: {s.entries} entries ({s.demo_entries} from the demo knowledge + {s.generated} generated FAQs "
          f"in {GENERATED_FILE}, seed {s.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
