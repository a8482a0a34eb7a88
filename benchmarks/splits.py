"""One train / validation / test split of every annotated set in ../shared/data.

Training commands, model selection and every benchmark read their parts from here and
nowhere else, so a test part can never leak into training or tuning. Each entry names the
set (its folder in ../shared/data), the unit it is split by (movie, frame, image or
region) and which units fall in each part. Leave-one-set-out figures drop a whole set
from training and score its test part.

Hand-written: this is our bookkeeping, not a library's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Split", "SEGMENTATION", "TRACKING", "CLASSIFICATION", "SHARED_DATA", "split",
           "cell_groups", "cell_group_part", "frame_range"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass(frozen=True)
class Split:
    """Where one set's train / validation / test parts lie.

    ``unit`` says what is split ("movie", "frame", "image", "region"); ``train``,
    ``validation`` and ``test`` list the units (frame indices, image names, region
    descriptions or movie folders) in each part.
    """

    set: str
    unit: str
    train: tuple = field(default_factory=tuple)
    validation: tuple = field(default_factory=tuple)
    test: tuple = field(default_factory=tuple)
    note: str = ""


# Segmentation sets: filled in by the segmentation work (issue 15).
#
# Units: CTC movies are split by frame (ints: the frame numbers of their SEG or full-mask
# files; "t054" style names are stills under seg-stills/), still-image sets by image (file
# stems), single images by region. A region is "NAME[y0:y1,x0:x1]" (Python slices; an empty
# bound is the image edge); "t000-039[...]" is that region in every frame 0..39. Region
# parts never overlap, so no test pixel is ever seen in training.

def _frames(first: int, last: int) -> tuple[int, ...]:
    return tuple(range(first, last + 1))


# DSB2018 subset: per kind (index.csv column "kind"), images in order of file stem; the
# i-th image of a kind is test if i % 5 == 0, validation if i % 10 == 1, else train
# (104 / 52 / 360 images; every kind, including the 5 brightfield images, has a test image).
_DSB_TRAIN = tuple("""
0280fa8f60f6bcae 0287e7ee5b007c91 02903040e19ddf92 03b9306f44e9b895 03f583ec5018739f
0402a81e75262469 04acab7636c4cf61 05a8f65ebd0b30d3 06350c7cc618be44 06c779330d6d3447
07761fa39f60dc37 077f026f4ab0f0bc 07fb37aafa662660 08151b19806eebd5 0a7d30b252359a10
0acd2c223d300ea5 0b2e702f90aee4ff 0bf4b144167694b6 0c6507d493bf79b2 0d2bf916cc8de90d
0ddd8deaf1696db6 0e4c2e2780de7ec4 10328b822b836e67 10ba6cbee4873b32 11a0170f44e3ab4a
139946af9e2c7ef4 13c8ff1f49886e91 1400420310c90943 14cc1424c5980827 15039b3acccc4257
1740b0a67ca337ea 1815cf307859b3e1 193ffaa5272d5c42 1a75e9f15481d110 1b2bf5933b0fb829
1b6044e4858a9b7c 1bd0f2b3000b7c77 1d4a5e729bb96b08 1d5f4717e179a036 1db1cddf28e305c9
1e8408fbb1619e7a 1ec74a26e772966d 1ee4a111f0e0bb9b 1f0008060150b5b9 1f6b7cead1534459
20b20ab049372d18 20c37b1ad2f510ed 20e209f6ffa120a7 220b37f4ca7cab48 2227fd9b01d67c2b
2349e95ece2857c8 237802ac5005f9cf 245b995878370ef4 27c30f9011492f23 2817299fd3b88670
28d33efef218392e 295ac4ecf2ee0211 29780b28e6a75fac 29dd28df98ee51b4 2ab91a4408860ae8
2ad489c11ed8b77a 2b50b1e3fa5c5aa3 2c83c86dd4e5dacc 2c840a94d216f5ef 2cfa857e63be1b41
2dd9d8c797fc6956 2f929b067a59f885 30311520606ec99b 305a8baaf726d7c9 309ba76b12ecb5ce
30f65741053db713 317832f90f02c5e9 319b6cb8b0d24b38 337b6eed0726f075 3441821ebea04fac
34c9f4eb2af8b8f4 356d9903d16074f1 358e47eaa1e92222 35ca5f142a7d7a3e 371a67232f7c871e
37ed50eea5a1e0ba 3934a094e8537841 3a22fe593d9606d4 3a3fee427e6ef7df 3a508d2dc03db46e
3b3f516ebc9a16cf 3b75fc03a1d12b29 3b957237bc1e0974 3bf7873f11823f4b 3d0ca3498d97edeb
3ebd2ab34ba86e51 40b00d701695d8ea 4185b9369fc8bdcc 4193474b2f1c72f7 4217e25defac94ff
431b9b0c520a2837 4327d27591871e9c 449a9c32e53a37c8 45c3bdef1819ba70 45cc00f2ef95da66
45f059cf21d85ecf 4829177d0b36abdd 4948e3dfe0483c21 4a424e0cb845cf6f 4b274461c6d001a7
4bf6a5ec42032bb8 4d2cff9a0c8df3a7 4d40de30a3db3bc4 4d4ebfcae4374165 4ff152d76db095f7
50a7ea80dd73232a 514ccfc78cb55988 516a0e20327d6dfc 5419302571113e9a 5488e8df5440ee51
54cb3328e778d87f 55ff2b0ec48b76e1 564fa390d9a9c26f 56d0da5b663ddd49 573a657d5e5fcb95
57bd029b19c1b382 57d88f45e479ce38 58406ed8ef944831 58c593bcb98386e7 5908488d940e846c
5953af5080d981b5 5afb7932e9c7328f 5afcbfd0dd64392a 5b2ccfb94dedf2ec 5ba4facefc949c92
5bda829acd824821 5cc036b65f7f2d54 5d21acedb3015c12 5d2c98fd6fda3c7d 5d58600efa0c2667
5ddbfba251948431 5ef4442e5b8b0b4c 608ff81c8a0c8b62 60cb718759bff13f 615985773f1469fb
61a15ccbfebb9d2f 623cf6987b3fac8f 62570c4ff1c5ab6d 63d981a107091e1e 66236902b874b7e4
66612c188d73e931 670ebd9d674be236 673baf65ae5c571d 693bc64581275f04 6aa7dd0c88bec4f9
6af82abb29539000 6b61ab2e3ff0e2c7 6bd330234b763b77 6c85029f850d3927 6eefe1f0d9c2d2c2
6fb82031f7fc5f4f 6fc83b33896f58a4 70827e40a7155391 724b6b7044522f6d 75120baa6abcbfe7
751f421d322940d6 76c44d1addac92a6 76faaed50ed6ea68 7773ac91af61ed04 777f7c4269279951
77ceeb87f560775a 785555c0cbb49dad 7aa1aaa5e032a980 7aae06bc45588294 7ac468eb217b7058
7b5987a24dd57325 7ba20aa731cc21af 7c01579132233657 7c318172e976ae5a 7f34dfccd1bc2e24
7f38885521586fc6 8055957570d7b38f 80632d6be60c8462 813f41ef376c3cbc 81e2dd950e6df28a
831218e6a1a54b23 84e642d75ae6ece8 84eeec6819877530 87ea72894f6534b2 88d5a03f8ecd459f
89be66f88612aae5 8a26b134fe9343c0 8aa1a883f61f0bb5 8b12e18670e4b24d 8b77284d6f37ab3f
8bef203fce625e4d 8de0b1a2e8f614af 8e8a7a14749d0b2e 8ecdb93582b2d527 8f6597cd978c0603
8f6e49e474ebb649 8fdc34509a0c3721 91cc2e0d4d6e2c1a 92f31f591929a30e 93c5638e7e6433b5
93cfd412c7de5210 942d56861fc83e19 9520aff4efe87bd8 9586e48a9a4353f1 97126a9791f0c117
97158b2fe38783d8 98c5ead89cd06663 9a71a416f98971aa 9b25b8ffd5f52b6c 9bf9f3dcadeb152a
9c95eae11da04118 9cbc070031736123 9cdac2870cfe65b6 9ebcfaf2322932d4 9f073db4acd7e634
9facc652efe19f63 a0afead3b4fe393f a0de55384fada5cb a101a00fea63f0c4 a102535b0e88374b
a22b7882fa85b9f0 a246bcaa64af48ee a3a1b8f9794ef589 a4c729efb5059893 a5e695fce80dc03e
a6001531274f9ad1 a6515d7307786680 a6e81120d1cb9f71 a7f767ca9770b160 a815a986800a95de
a90cad45551d62c5 aa47f0b303b1d525 aa4d989d262c618a aa83f5b4fca02ae4 abbfff07379bceb6
ac8169a0debed115 ad473063dab4bf4f ad9d305cbf193d42 ae9f76b5360df3f6 af6b6173c59450bc
b0d6dfcc95e4d087 b0defa611b75645c b1a239838c7dbb34 b1e3aeb0c56261c1 b2c23ddb04531158
b2c5d8653c621207 b3a9f4c9035a0df7 b3bfd873fca7ff9b b4d902d42c93dea7 b4de1e3eec159d8a
b560dba92fbf2af7 b6d50fa22380ae3a b6edad733399c83c b76ff33ae9da28f9 b82548ab19466b46
b8fdc02d915206bb b98681c74842c405 ba3997edd3fcb2f8 bc115ff727e997a8 bde3727f3a9e8b2b
be1916d0e5592c17 bf566e75d5cb0196 bf7691b0a79811fa bfe8ef193a68a0a8 bff985591dd5d630
c0152b1a260e71f9 c04fa1a74a980d79 c0c4a829c8d33d16 c169a7782a69ea2f c322c72b9d411e63
c35e6e3ea39a718e c3bec1066aae20f4 c53326fe49fc26b7 c6de542205b891ee c75139ef0546d224
c7d5467665187035 c8ca945abc29d262 c901794d1a421d52 c96109cbebcf206f c9f305be17312bdb
cbff60361ded0570 cc88627344305b9a cdab367b30db4706 ce37f6dd0615d45e ce9e1a58b5894003
cf26c41245febfe6 cfabf7379c5591d4 d0f2a00d3155c243 d1dbc6ee7c44a702 d256b32adda37f23
d2815f2f616d92be d32ea6d318626ca1 d35f25c8e3f7fca5 d3ce382f190ee247 d4d6c683f249d825
d751ccb64fa767a6 d7d12a2acc47a949 d7db360fabfce982 d7fc0d0a7339211f d827a7d80fc67487
d8607b21411c9c8a d910b2b1be8406ca da8ca06ccbb4e2a8 dabfee30b46d2356 dad607a203483439
db45946a4412a213 dbbfe08a52688d0a dbe5ad05b6f87018 ddf1bf458312de28 df53d0b6c2c4e45d
df5cdd0ebe1bdf8d df9a4212ecb67bb4 e216ec5063d3562b e2d22d3d283915df e321cfa987e77c21
e4537e7893e631f3 e50ac10d1dce6496 e52960d31f8bddf8 e5384c905e9879cb e5aeb5b3577abbeb
e5f8ad0f0a43af8c e66a97b2c77f3d66 e66f25e175abab08 e9b8ad127f216343 ea00f5a91ca75e74
ea94ba4b01d1bd5f ead9464a50a17f74 ec031f176dafe0b3 ec486143ecfec847 ecb36c90cdd20245
ed4b8e0d756836be ee927e8255096971 eeb142344e9de325 ef3ef194e5657fda ef6634efb46567d8
f0c9f135c62572f3 f113626a04125d97 f20eb4592e7d3cf5 f26f4c2c70c38fe1 f43169e3d8b4f71e
f487cc82271cf84b f4c4db3df4ff0de9 f67e72b7fe0b1e36 f6863b83d75e5927 f6b16c885c0b2bc0
f6cb37ebf29c2252 f7eaaf420b5204c4 f81ca7ee25e733ff f8e74d4006dd68c1 f9ac03b0344ce8c4
f9ea1a1159c33f39 fa73f24532b36677 fa751ff3a6332c95 fc345dac2205deb1 fc5452f612a0f972
fc9269fb2e651cd4 fdda64c47361b0d1 fec226e45f49ab81 feffce59a1a3eb0a ff3e512b5fb860e5
""".split())
_DSB_VALIDATION = tuple("""
003cee89357d9fe1 0532c64c2fd0c4d3 094afe36759e7daf 0bf33d3db4282d91 1023509cf8d4c155
16c3d5935ba94b72 1b44d22643830cd4 1c681dfa5cf7e413 20468e8779c43e08 243443ae303cc09c
2a2032c4ed78f3fc 2e172afb1f43b359 33d0a9b24c25852c 3874755f6222e830 3ca8181367fc1258
44ab6a09eedee848 4c465a54e329ec7b 4e92129f4e8066d6 538b7673d507014d 57b49733c5a3c268
5b12df18e4ae4df5 6034456567632f4b 64eeef16fdc4e265 6bd18a218d25247d 72e8c49dea447871
797945873ca2a95f 7f4d7b549d0f1a11 88678981648b184b 8d9b4205ddb10fa4 930f246a8e4ff273
98a463483fe3a56d 9e4f8ec60a0d622a a1f50f101bc471e2 a31deaf0ac279d5f a65bbfc5673e8053
ac782d2cad7f515c b1f23c4d27afed8a b6c9b58de0388891 bbce7ebc40323a0e c043d5ac9dd46605
c6216cdc42f61bc3 cb4df20a83b2f38b d1ba6089cae2f90c d6a880b1f6056f30 da79a2b105f055ce
df33b11184427e05 e4fc936ba57a936a e856511ac1c34d24 edd36ed822e7ed76 f35ab34528e3e2d2
f73e37957c74f554 fc22db33a2495f58
""".split())
_DSB_TEST = tuple("""
00071198d059ba7f 00ae65c1c6631ae6 03398329ced0c23b 05040e2e959c3f56 072ff14c1d3245bf
08275a5b1c2dfcd7 08ae2741df2f5ac8 0bda515e370294ed 0e5edb072788c7b1 12f89395ad5d2149
1609b1b8480ee526 1a75de9e11303142 1c2f9e121fc207ef 1e61ecf354cb93a6 1f9e429c12f44772
21408476af050633 23830d0e51245fc0 24a20f2a529cede5 2869fad54664677e 29ea4f6eb4545f43
2bf594e9d06f78b4 2dec81a678ddcac2 308084bdd358e0bd 33618678c167c5e0 3582166ee2075585
3852c7e45bd885b9 3ab9cab6212fabd7 3bfd6bb152310f93 40bcdad218ac5f08 449fe932622db3b4
483b89aa683542f1 4c032609d377bd98 4cbd6c37f3a55a53 4ee5850b63549794 52a4ac5a875be7a6
54fe2d3416951cbc 573e1480b500c395 58cc121d37fb7f1b 5b0bde771bc67c50 5c235b945b25b990
602f267432e7a573 619429303c1af754 648636ee314d7bdb 68f833de9f8c631c 6bc8cda54f5b66a2
6d327ab4f0e3604f 6f8197baf738986a 72b18a405555ad49 76c4f14e35210f87 7978812d0e2e034e
7af09f98ec299ba0 7d40ea6ead1bec90 8175a55b711c948f 86f9087eb1d0875f 8a65e41c630d85c0
8c3ef7aa7ed29b62 8efed2e62c919e6d 92e7e86e765e05ce 94a5a37c3b1153d5 9774c82396327929
9bb6e39d5f4415bc 9d429167633b4d9d 9fb32aba1c2fd532 a022908f1b788083 a1777737270c5f96
a3a65623e079af79 a6593632dcbbe4c9 a9d884ba0929dac8 abc781c8721fe04b af8621ef0db8c26b
b1eb0123fe2d8c82 b3b1626f8ad156ac b67a6e5da8b1cfa5 b7a86f4968071e0f bb481eae02085bba
bb61fc17daf8bdd4 be26966900aa0e5b c00ae67f72816dae c2a646a819f59a4e c620631271a56407
c89ac06daef5c819 cab4875269f44a70 ce88df7356d9d4a8 d1b173875e2261f5 d2ce593bddf9998c
d4d88391bc399a37 d7ec800373599645 da5f98f2b8a64eee dae976f161fe42dc dec1764c00e8b3c4
e1bcb583985325d0 e4ae1ceddb279bac e5a7b8a9924b26b3 e81c758e1ca177b0 eb96fc6cbf6880bf
ed8c31b001a0c23c f0a75e0322f11cea f29fd9c52e04403c f534b43bf37ff946 f728de04267283f0
f93ec5e683d81005 fadeb0ab092833f2 fd8065bcb1afdbed ff599c7301daa1f7
""".split())


SEGMENTATION: dict[str, Split] = {s.set: s for s in (
    Split("Fluo-N2DH-GOWT1-01", "frame",
          train=(2, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16, 17, 18, 20, 21, 27, 28, 29, 31, 32,
                 33, 34, 37, 39, 40),
          validation=(41, 44, 45, 46, 47),
          note="partial SEG (TRA markers without a SEG mask are ignored in training); its "
               "test part is the other movie, Fluo-N2DH-GOWT1-02"),
    Split("Fluo-N2DH-GOWT1-02", "movie", test=("02",),
          note="a movie never trained on: all 20 SEG frames (partial annotation)"),
    Split("Fluo-N2DH-SIM+-01", "frame", train=_frames(0, 29), validation=_frames(30, 34),
          test=_frames(40, 64),
          note="SIMULATED; frames 35-39 unused as a gap between validation and test"),
    Split("nuclei-seg-stardist", "region",
          train=("2d_DSB2018[0:384,0:256]",), validation=("2d_DSB2018[384:512,0:256]",),
          test=("2d_DSB2018[0:512,256:512]",),
          note="2d_DSB2018 split into left/right halves (as nuclei2d was trained); "
               "3d_synthetic is SIMULATED and used by unit tests only"),
    Split("Fluo-N2DL-HeLa-01", "frame", train=(21, 22, 23, 25, 29), validation=(15, 20),
          test=(12, 13, 14),
          note="SEG mostly partial; the test block holds the one dense frame (13)"),
    Split("DIC-C2DH-HeLa-01", "frame", train=(2, 5, 21, 31, 33), validation=(34, 39),
          test=("t054", "t067"),
          note="whole cells, DIC; test = the two SEG stills 15 and 28 frames after the clip"),
    Split("PhC-C2DL-PSC-01", "region",
          train=("t098[0:432,:]",), validation=("t098[432:,:]",), test=("t122",),
          note="whole cells, phase contrast; the two SEG stills: 098 split by rows, "
               "122 (24 frames later) whole for test"),
    Split("PhC-C2DL-EcoliColony-vanVliet-01", "region",
          train=("t000-039[0:590,:]", "t000-039[911:,:]"),
          validation=("t000-039[590:911,0:330]", "t000-039[590:911,651:]"),
          test=("t000-039[590:910,330:650]",),
          note="phase-contrast E. coli, full masks; test = the embedded demo's crop "
               "(rows 590-909, columns 330-649, all 40 frames), never trained on; row 910 "
               "and column 650 of that band are used by no part; the colony starts in "
               "the crop, so train/validation hold cells only in later frames"),
    Split("seg-DSB2018-stage1-train-subset", "image", train=_DSB_TRAIN,
          validation=_DSB_VALIDATION, test=_DSB_TEST,
          note="fluorescence, brightfield and H&E nuclei; stratified by kind (rule above)"),
    Split("seg-BABY-yeast-brightfield", "image",
          train=("evolve_testA", "evolve_testB", "evolve_testC", "evolve_testD",
                 "evolve_testG_tp1", "evolve_testG_tp2", "evolve_testG_tp3",
                 "evolve_testG_tp4", "evolve_testG_tp5", "prime95b_testA"),
          validation=("evolve_testE", "evolve_testF_tp3", "evolve_testF_tp4"),
          test=("prime95b_testC_tp1", "prime95b_testC_tp2", "prime95b_testC_tp3",
                "prime95b_testC_tp4", "prime95b_testC_tp5"),
          note="split by trap (time points of one trap stay together); 2D models use the "
               "middle of the 5 z-slices"),
    Split("seg-BABY-ecoli-mothermachine", "region",
          train=("mmsCMOS_testA[0:600,:]",), validation=("mmsCMOS_testA[600:,:]",),
          test=("mmsCMOS_testB",),
          note="two trench images: A split by rows, B (30 cells) for test"),
    Split("seg-colony-ecoli-salmonella-dapi", "region",
          train=("MAX_Ecoli_Sent_mix_7_Pos0_1-2[:,700:]",),
          validation=("MAX_Ecoli_Sent_mix_7_Pos0_1-2[:,0:350]",),
          test=("MAX_Ecoli_Sent_mix_7_Pos0_1-2[:,350:700]",),
          note="one dense fluorescent colony split by columns (test: the densest band, "
               "about 340 cells); silver-quality labels"),
    Split("seg-PlantSeg-3D-nuclei", "region", train=("1135_mini",),
          validation=("1136_mini[:,:50]",), test=("1136_mini[:,50:]",),
          note="3D volumes (ZYX); a region cuts Y and X of every plane. nuclei3d trains "
               "on 1135_mini and chooses its epoch and levels on the half x < 50 of "
               "1136_mini (as does the classical baseline's variant); the half x >= 50 "
               "is test only (benchmarks/segmentation_3d_em.py). 1137_mini is not used: "
               "its image is uniform noise (contrast-to-noise of its nuclei 0.03 against "
               "1.2-1.4; structure gain 0.95, celldyn._validate), so no method can "
               "segment it (re-split 2026-12-06; before, it was the test part). The 2D "
               "generalist does not use this set"),
    Split("seg-EM-drosophila-vnc-mito", "image",
          train=tuple(f"s{i:02d}" for i in range(14)),
          validation=("s14", "s15", "s16"), test=("s17", "s18", "s19"),
          note="ssTEM sections in contiguous blocks; mito_em (5-class map) trains on "
               "s00-s13, chooses its epoch and smallest mitochondrion on s14-s16 (as "
               "does the classical baseline); s17-s19 are test only "
               "(benchmarks/segmentation_3d_em.py). The 2D generalist does not use it"),
)}

# Tracking sets (lineage ground truth): filled in by the tracking work (issue 16).
# The hand-made tracker's data-driven defaults (the search-radius factors and the
# division size rule, celldyn.track.scale) were chosen on simulated movies only
# (benchmarks/tracking_scale.py), so every frame of the real movies below is test data
# for them. The older cost weights (division, division_size, division_midpoint, area)
# were chosen on SIM+-01 and GOWT1-01 (plus simulated colonies;
# benchmarks/tracking_divisions.py).
#
# The learned tracker (issue 16, item 3) trains on the real movies with lineages too.
# Unit: the frame. Each of these movies is cut in time into a training part (the first
# 60 % of its frames), a validation part (the next 15 %, for model selection) and a
# test part (the last 25 %, never trained or selected on); links across the cuts are
# dropped (celldyn.training.crop_ctc). SIM+-01 and GOWT1-01 train whole;
# GOWT1-02 is a test movie. Leave-one-set-out models train without a whole set and are
# scored on all of it (benchmarks/tracker_learned.py).


def _thirds(n_frames: int) -> dict[str, tuple[int, ...]]:
    a, b = round(0.6 * n_frames), round(0.75 * n_frames)
    return {"train": _frames(0, a - 1), "validation": _frames(a, b - 1),
            "test": _frames(b, n_frames - 1)}


_LEARNED = ("frames: train / validation / test parts of the learned tracker; every frame "
            "is test for the hand-made trackers (never tuned on it)")
_HELD_OUT = "test: no default or model was chosen or trained on it"
_TRAINED = ("train: the cost-weight sweep (benchmarks/tracking_divisions.py) and the "
            "learned tracker used it; scored, marked training")
TRACKING: dict[str, Split] = {
    "Fluo-N2DL-HeLa-01": Split("Fluo-N2DL-HeLa-01", "frame", **_thirds(36), note=_LEARNED),
    "PhC-C2DL-PSC-01": Split("PhC-C2DL-PSC-01", "frame", **_thirds(60), note=_LEARNED),
    "PhC-C2DL-EcoliColony-vanVliet-01": Split(
        "PhC-C2DL-EcoliColony-vanVliet-01", "frame", **_thirds(40),
        note=_LEARNED + " (seen in the 2026-12 division-cost diagnosis, see RESULTS.md)"),
    "DIC-C2DH-HeLa-01": Split("DIC-C2DH-HeLa-01", "frame", **_thirds(42), note=_LEARNED),
    "Fluo-N2DH-GOWT1-02": Split("Fluo-N2DH-GOWT1-02", "movie", test=("02",),
                                note=_HELD_OUT),
    "Fluo-N2DH-SIM+-01": Split("Fluo-N2DH-SIM+-01", "movie", train=("01",), note=_TRAINED),
    "Fluo-N2DH-GOWT1-01": Split("Fluo-N2DH-GOWT1-01", "movie", train=("01",),
                                note=_TRAINED),
}


def frame_range(part: tuple[int, ...]) -> tuple[int, int]:
    """(first, last) of a contiguous frame part."""
    return (min(part), max(part))


# Classification sets: filled in by the classification work (issue 22).
#
# CellCognition crops are split by *cell group*: crops at the same plate position whose
# frames differ by at most 5 and whose centres lie within 30 px are linked, and the
# connected groups (a cell followed through its phases, with its daughters) are the
# units, named by their smallest crop index (labels.csv `index`). Crops of one cell
# are never on both sides. Groups in order of name: rank % 5 == 0 -> test,
# rank % 10 == 1 -> validation, else train (see cell_group_part). Lineage movies are
# split by lineage (root track ids in man_track.txt, in id order: alternately train and
# test); their train lineages fit the smoothing transition matrix and choose the
# smoothing strength (labels only, no image is trained on), test lineages are scored.
# No classifier is trained on any lineage movie's images.
CELL_GROUP_LINK = {"frames": 5, "pixels": 30.0}


def cell_groups(table) -> "list[int]":
    """Cell group of each CellCognition crop (rows of labels.csv, as a DataFrame):
    the smallest crop ``index`` of its group (rule above)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    p, t = table["position"].to_numpy(), table["t"].to_numpy()
    x, y = table["x"].to_numpy(float), table["y"].to_numpy(float)
    near = ((p[:, None] == p[None]) & (abs(t[:, None] - t[None]) <= CELL_GROUP_LINK["frames"])
            & (np.hypot(x[:, None] - x[None], y[:, None] - y[None])
               <= CELL_GROUP_LINK["pixels"]))
    i, j = np.nonzero(near)
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(len(p),) * 2))
    index = table["index"].to_numpy()
    first = {c: int(index[comp == c].min()) for c in np.unique(comp)}
    return [first[c] for c in comp]


def cell_group_part(groups) -> "list[str]":
    """'train', 'validation' or 'test' for each crop's cell group (rule above)."""
    rank = {g: r for r, g in enumerate(sorted(set(groups)))}
    return ["test" if rank[g] % 5 == 0 else "validation" if rank[g] % 10 == 1 else "train"
            for g in groups]


_HELA_ROOTS = (1, 10, 12, 16, 22, 23, 24, 25, 30, 41, 50, 51, 55, 63, 76, 86, 94, 98, 102,
               112, 125, 133, 137, 141, 151, 161, 169, 177, 186, 188, 189, 197, 199, 200,
               204, 225, 257, 270, 284, 288, 305, 315, 326, 333, 337, 353, 363, 366, 374,
               375, 376, 377, 381, 382, 383)
CLASSIFICATION: dict[str, Split] = {s.set: s for s in (
    Split("class-CellCognition-H2B-HeLa", "cell group",
          train=("rank % 5 not in (0,) and rank % 10 != 1",),
          validation=("rank % 10 == 1",), test=("rank % 5 == 0",),
          note="rules in cell_group_part; the shipped phases and mitosis models train on "
               "train, choose settings on validation; test is scored once"),
    Split("Fluo-N2DL-HeLa-01", "lineage", train=_HELA_ROOTS[0::2], test=_HELA_ROOTS[1::2],
          note="no classifier trained on its images; train lineages fit the transition "
               "matrix and choose the smoothing strength and the mitosis threshold"),
    Split("PhC-C2DL-PSC-01", "movie",
          note="unused for classification (phase contrast, no chromatin stain)"),
    Split("PhC-C2DL-EcoliColony-vanVliet-01", "lineage",
          note="unused by the real-data models (bacteria); the older mitosis benchmark "
               "split it by lineage (root 1 train, root 2 test)"),
)}


def split(name: str, task: str | None = None) -> Split:
    """The split of set `name`, whichever task registered it (or the `task` table:
    'segmentation', 'tracking', 'classification')."""
    if task is not None:
        return {"segmentation": SEGMENTATION, "tracking": TRACKING,
                "classification": CLASSIFICATION}[task][name]
    for table in (SEGMENTATION, TRACKING, CLASSIFICATION):
        if name in table:
            return table[name]
    raise KeyError(f"no split registered for {name!r}")
