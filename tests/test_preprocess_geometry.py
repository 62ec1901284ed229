"""Page geometry before OCR: finding a photographed card's outline, straightening it, and the
matrices that carry OCR boxes back to the picture the user sent; plus the guilloche clean-up.

Inputs are built here with known geometry: a light card with dark text-like print and one black
square, warped by a chosen homography onto a darker mottled table. Every expectation is
derived from that homography, never from a stored answer.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.pages import RawPage
from ocr import preprocess as pp
from ocr.alto import local_affine, map_point
from ocr.read import PATTERN_MIN_SHARE, prepare, to_original
from sohoa.config import PreprocessOptions

FONTS = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
         Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")]

CARD_W, CARD_H = 856, 540
BOX = (600, 330, 740, 470)  # a black square frame on the card (x0, y0, x1, y1), card pixels
STROKE = 12  # its line width: a print stroke (a solid black area would count as background)
OBLIQUE = [[260, 180], [1180, 120], [1230, 820], [200, 760]]  # a phone held at a slant
FLAT = [[250, 150], [1150, 150], [1150, 720], [250, 720]]  # the same card seen square-on
SCENE = (1400, 1000)  # width, height of the picture


def font(size: int) -> ImageFont.FreeTypeFont:
    for f in FONTS:
        if f.exists():
            return ImageFont.truetype(str(f), size)
    pytest.skip("neither DejaVu nor Liberation fonts are installed")


def card(w: int = CARD_W, h: int = CARD_H) -> np.ndarray:
    """A light card (grey 235) with lines of dark Vietnamese print and the black frame BOX."""
    img = Image.new("L", (w, h), 235)
    draw = ImageDraw.Draw(img)
    f = font(max(10, h // 22))
    lines = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
             "Họ và tên: NGUYỄN THỊ HỒNG", "Ngày sinh: 12/03/1987", "Quê quán: Bình Dương"]
    for i, line in enumerate(lines):
        draw.text((int(w * 0.06), int(h * 0.08) + i * int(h * 0.1)), line, font=f, fill=25)
    arr = np.asarray(img).copy()
    x0, y0, x1, y1 = (round(v * w / CARD_W) if i % 2 == 0 else round(v * h / CARD_H) for i, v in enumerate(BOX))
    t = max(3, round(STROKE * w / CARD_W))
    arr[y0:y1, x0:x1] = 0
    arr[y0 + t:y1 - t, x0 + t:x1 - t] = 235
    return arr


def card_rect(w: int = CARD_W, h: int = CARD_H) -> np.ndarray:
    return np.float32([[0, 0], [w, 0], [w, h], [0, h]])


def scene(corners, size=SCENE, table: float = 80.0, seed: int = 1, paper: np.ndarray | None = None):
    """`paper` (default: card()) warped so its corners land on `corners`, on a mottled table.
    Returns the grey picture and the homography card pixels -> picture pixels."""
    paper = card() if paper is None else paper
    W, H = size
    h, w = paper.shape
    m = cv2.getPerspectiveTransform(card_rect(w, h), np.float32(corners))
    rng = np.random.default_rng(seed)
    mottle = rng.normal(0, 12, (max(2, H // 24), max(2, W // 24))).astype(np.float32)
    back = table + cv2.resize(mottle, (W, H), interpolation=cv2.INTER_CUBIC)
    warped = cv2.warpPerspective(paper.astype(np.float32), m, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), m, (W, H), flags=cv2.INTER_LINEAR)
    out = warped * mask + back * (1 - mask) + rng.normal(0, 3, (H, W))
    return np.clip(out, 0, 255).astype(np.uint8), m


def project(m: np.ndarray, pts) -> np.ndarray:
    return cv2.perspectiveTransform(np.float32(pts).reshape(-1, 1, 2), np.asarray(m, np.float64)).reshape(-1, 2)


def dark_component(grey: np.ndarray, at, below: int = 100, radius: int = 3) -> tuple[int, int, int, int]:
    """Bounding box (x0, y0, x1, y1, exclusive ends) of the dark blob within `radius` px of `at`."""
    x, y = round(float(at[0])), round(float(at[1]))
    window = grey[y - radius:y + radius + 1, x - radius:x + radius + 1]
    dy, dx = np.unravel_index(np.argmin(window), window.shape)
    x, y = x - radius + int(dx), y - radius + int(dy)
    assert grey[y, x] < below, f"nothing dark near {at} ({grey[y, x]})"
    _, labels, stats, _ = cv2.connectedComponentsWithStats((grey < below).astype(np.uint8), connectivity=8)
    s = stats[labels[y, x]]
    return (int(s[cv2.CC_STAT_LEFT]), int(s[cv2.CC_STAT_TOP]),
            int(s[cv2.CC_STAT_LEFT] + s[cv2.CC_STAT_WIDTH]), int(s[cv2.CC_STAT_TOP] + s[cv2.CC_STAT_HEIGHT]))


def on_stroke(box, stroke: float = STROKE) -> list[float]:
    """A point in the middle of the frame's left stroke (the frame's centre is paper)."""
    x0, y0, _, y1 = box
    return [x0 + stroke / 2, (y0 + y1) / 2]


def box_corners(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def corner_error(found: np.ndarray, truth) -> float:
    return float(np.linalg.norm(np.asarray(found, float) - np.asarray(truth, float), axis=1).max())


# ----------------------------------------------------------------------------- order_corners
def test_order_corners_any_input_order() -> None:
    rng = np.random.default_rng(0)
    for angle in (-30, -8, 0, 5, 20, 35):  # a card turned this much on the table
        a = math.radians(angle)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        truth = (card_rect() - [CARD_W / 2, CARD_H / 2]) @ rot.T + [700, 500]
        for _ in range(6):
            got = pp.order_corners(truth[rng.permutation(4)])
            assert got.dtype == np.float32 and got.shape == (4, 2)
            np.testing.assert_allclose(got, truth, atol=1e-3, err_msg=f"angle {angle}")


def test_order_corners_card_turned_45_degrees() -> None:
    a = math.radians(45)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    quad = (card_rect() - [CARD_W / 2, CARD_H / 2]) @ rot.T + [700, 600]
    got = pp.order_corners(quad)
    assert len({tuple(p) for p in got.round(3).tolist()}) == 4, got


# ----------------------------------------------------------------------------- perspective_skew / matrix / warp
def test_perspective_skew_of_known_shapes() -> None:
    assert pp.perspective_skew(card_rect()) == pytest.approx(0.0, abs=1e-3)
    # A parallelogram leaning by 10 px over 100 px: every corner is atan(0.1) off square.
    lean = np.float32([[10, 0], [110, 0], [100, 100], [0, 100]])
    assert pp.perspective_skew(lean) == pytest.approx(math.degrees(math.atan(0.1)), abs=1e-3)
    # A trapezoid: the worst corner counts.
    trap = np.float32([[20, 0], [80, 0], [100, 100], [0, 100]])
    assert pp.perspective_skew(trap) == pytest.approx(math.degrees(math.atan(20 / 100)), abs=1e-3)


def test_perspective_matrix_maps_the_quad_onto_its_rectangle() -> None:
    quad = np.float32(OBLIQUE)
    m, (w, h) = pp.perspective_matrix(quad)
    tl, tr, br, bl = quad
    assert w == round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    assert h == round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    np.testing.assert_allclose(project(m, quad), [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], atol=1e-3)


def test_straightened_card_keeps_its_aspect_and_content() -> None:
    """A moderately oblique view (turned 6 degrees, corners moved by ~3 %, as a phone photo):
    the straightened card has the card's shape, and its print sits where the card has it."""
    a = math.radians(6)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    jitter = np.float32([[-0.03, 0.02], [0.02, -0.03], [0.03, 0.01], [-0.01, 0.03]]) * [CARD_W, CARD_H]
    corners = (card_rect() - [CARD_W / 2, CARD_H / 2]) @ rot.T + jitter + [700, 500]
    grey, _ = scene(corners)
    quad = pp.find_document_quad(grey)
    assert quad is not None
    m, (w, h) = pp.perspective_matrix(quad)
    assert (w / h) == pytest.approx(CARD_W / CARD_H, rel=0.04)
    flat = pp.warp(grey, m, (w, h))
    assert flat.shape == (h, w)
    # Nothing of the table is left along the edges (paper is 235, the table ~80).
    edges = np.concatenate([flat[3], flat[-4], flat[:, 3], flat[:, -4]])
    assert np.percentile(edges, 5) > 170
    sx, sy = w / CARD_W, h / CARD_H
    seed = project(np.diag([sx, sy, 1.0]), [on_stroke(BOX)])[0]
    found = dark_component(flat, seed)
    expected = (BOX[0] * sx, BOX[1] * sy, BOX[2] * sx, BOX[3] * sy)
    assert max(abs(f - e) for f, e in zip(found, expected)) < 0.03 * max(w, h), (found, expected)


# ----------------------------------------------------------------------------- find_document_quad
@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0])
def test_finds_the_corners_of_a_card_photographed_at_a_slant(scale: float) -> None:
    corners = np.float32(OBLIQUE) * scale
    size = (round(SCENE[0] * scale), round(SCENE[1] * scale))
    grey, _ = scene(corners, size=size, paper=card(round(CARD_W * scale), round(CARD_H * scale)))
    quad = pp.find_document_quad(grey)
    assert quad is not None
    # Corners come back TL, TR, BR, BL, within 1 % of the picture's longer side (the outline is
    # found on a blurred copy, whose corners are rounded by a few pixels).
    assert corner_error(quad, corners) < 0.01 * max(size), (quad, corners)
    assert pp.perspective_skew(quad) > 2.0


def test_a_card_seen_square_on_has_no_perspective_skew() -> None:
    grey, _ = scene(FLAT)
    quad = pp.find_document_quad(grey)
    assert quad is not None
    assert corner_error(quad, FLAT) < 0.01 * max(SCENE)
    assert pp.perspective_skew(quad) < 1.0


def test_a_page_filling_the_frame_has_no_outline() -> None:
    """A flatbed scan of a white page: no contrasting surround, nothing to straighten."""
    page = np.full((1000, 1400), 245, np.uint8)
    page[60:940, 60:1340] = cv2.resize(card(), (1280, 880), interpolation=cv2.INTER_AREA)
    assert pp.find_document_quad(page) is None
    # ... nor a light card on an equally light table.
    grey, _ = scene(OBLIQUE, table=225)
    assert pp.find_document_quad(grey) is None
    # ... nor the lit part of a page with a faint shadow over one side (the paper is not
    # clearly brighter than that "surround").
    _, shaded = shadowed_page(25)
    assert pp.find_document_quad(shaded) is None


def shadowed_page(darkest: float) -> tuple[np.ndarray, np.ndarray]:
    """A text page filling the frame, and the same with a soft shadow (a hand's, the lid's) over
    its right side: `darkest` grey levels at most, fading in over 300 px."""
    img = Image.new("L", (1700, 1100), 255)
    draw = ImageDraw.Draw(img)
    f = font(40)
    for i in range(12):
        draw.text((80, 60 + i * 80), "Nơi thường trú: Số 12 đường Yersin, Phường Phú Cường, tỉnh Bình Dương",
                  font=f, fill=0)
    page = np.asarray(img).astype(np.float32)
    shade = np.clip((np.arange(1700) - 1100) / 300, 0, 1)[None, :]
    return page, np.clip(page - darkest * shade * (page / 255), 0, 255).astype(np.uint8)


def glare(grey: np.ndarray, cx: float, cy: float, radius: float, peak: float) -> np.ndarray:
    """A specular spot pulling the picture towards white by up to `peak` (fades smoothly)."""
    H, W = grey.shape
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    spot = peak * np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * radius * radius))
    return np.clip(grey + (255.0 - grey) * spot, 0, 255).astype(np.uint8)


def test_glare_across_the_paper_edge_does_not_move_the_corners() -> None:
    grey, _ = scene(OBLIQUE)
    # A lamp's reflection centred on the middle of the right edge, half on the paper, half on the table.
    edge_mid = (np.float32(OBLIQUE[1]) + np.float32(OBLIQUE[2])) / 2
    shiny = glare(grey, edge_mid[0], edge_mid[1], radius=230, peak=0.7)
    # Precondition: the glare lifts the table beside the paper above the Otsu level of the
    # picture, so a single global threshold would merge table and paper there.
    otsu, _ = cv2.threshold(shiny, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    beside = shiny[int(edge_mid[1]) - 5:int(edge_mid[1]) + 5, int(edge_mid[0]) + 25:int(edge_mid[0]) + 45]
    assert beside.mean() > otsu
    quad = pp.find_document_quad(shiny)
    assert quad is not None
    assert corner_error(quad, OBLIQUE) < 0.015 * max(SCENE), quad


def test_a_shadow_across_a_page_filling_the_frame_is_not_an_outline() -> None:
    page, grey = shadowed_page(45)
    assert grey[:, 1600].max() >= 200  # the shadowed paper is still light paper, and its text legible
    prepared = prepare(RawPage(number=1, image=Image.fromarray(grey).convert("RGB"), dpi=300), PreprocessOptions())
    # Everything printed must survive: the page's right edge, taken back to the picture, is past the text.
    h, w = prepared.grey.shape
    right = project(np.linalg.inv(prepared.forward), [[w - 1, h // 2]])[0][0]
    text_right = np.nonzero((page < 128).any(axis=0))[0].max()
    assert right > text_right, (right, text_right)
    assert pp.find_document_quad(grey) is None


# ----------------------------------------------------------------------------- prepare / to_original
@pytest.fixture(scope="module")
def photo():
    grey, m = scene(OBLIQUE)
    rgb = Image.fromarray(np.stack([grey] * 3, axis=-1))
    return rgb, m, prepare(RawPage(number=1, image=rgb, dpi=150), PreprocessOptions())


def test_prepare_straightens_a_photo(photo) -> None:
    _, m, prepared = photo
    assert prepared.photographed
    forward = np.asarray(prepared.forward)
    assert forward.shape == (3, 3)
    # The black square, seen through the card->picture->prepared chain, is where prepare put it.
    expected = project(forward @ m, box_corners(BOX))
    found = box_corners(dark_component(prepared.grey, project(forward @ m, [on_stroke(BOX)])[0]))
    scale = np.linalg.norm(expected[1] - expected[0]) / (BOX[2] - BOX[0])  # prepared px per card px
    assert corner_error(found, expected) < max(4.0, 4 * scale), (found, expected)


def test_prepare_leaves_a_card_seen_square_on_unphotographed() -> None:
    """A card on the glass with the lid open: outline found and cropped to, but no slant."""
    grey, m = scene(FLAT)
    prepared = prepare(RawPage(number=1, image=Image.fromarray(grey), dpi=150), PreprocessOptions())
    assert not prepared.photographed
    expected = project(np.asarray(prepared.forward) @ m, box_corners(BOX))
    found = box_corners(dark_component(prepared.grey, project(np.asarray(prepared.forward) @ m, [on_stroke(BOX)])[0]))
    assert corner_error(found, expected) < 6.0, (found, expected)
    # The table is gone: the prepared page's corners, taken back to the picture, lie on the card.
    h, w = prepared.grey.shape
    corners = project(np.linalg.inv(prepared.forward), [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    (x0, y0), (x1, y1) = FLAT[0], FLAT[2]
    assert np.all((corners[:, 0] >= x0 - 8) & (corners[:, 0] <= x1 + 8)), corners
    assert np.all((corners[:, 1] >= y0 - 8) & (corners[:, 1] <= y1 + 8)), corners


def test_prepare_upscales_a_small_photo_and_its_matrix_follows() -> None:
    """A low-resolution photo of a paper printed in one corner only: straightened, cropped to
    the print and upscaled; `forward` includes all three."""
    corners = np.float32(OBLIQUE) * 0.45
    paper = card(385, 243)
    paper[:120, :] = 235
    paper[:, :200] = 235
    grey, m = scene(corners, size=(630, 450), paper=paper)
    prepared = prepare(RawPage(number=1, image=Image.fromarray(grey), dpi=70), PreprocessOptions())
    assert prepared.photographed
    assert min(prepared.grey.shape) >= 0.6 * PreprocessOptions().min_width_px - 1  # it was upscaled
    # ... and cropped: the prepared page's top-left corner is well inside the paper.
    tl = project(np.linalg.inv(np.asarray(prepared.forward) @ m), [[0, 0]])[0]  # in card pixels
    assert tl[0] > 120 and tl[1] > 60, tl
    box = [v * 385 / CARD_W if i % 2 == 0 else v * 243 / CARD_H for i, v in enumerate(BOX)]
    expected = project(np.asarray(prepared.forward) @ m, box_corners(box))
    seed = project(np.asarray(prepared.forward) @ m, [on_stroke(box, STROKE * 385 / CARD_W)])[0]
    found = box_corners(dark_component(prepared.grey, seed))
    scale = np.linalg.norm(expected[1] - expected[0]) / (box[2] - box[0])
    assert scale > 1.5
    assert corner_error(found, expected) < 4 * scale, (found, expected)
    back = to_original(prepared.grey.shape, prepared.forward, 0, 0.0)
    for x, y in expected:
        np.testing.assert_allclose(map_point(x, y, back), project(np.linalg.inv(prepared.forward), [[x, y]])[0],
                                   atol=1e-3)


def test_to_original_of_a_quarter_turn_is_pixel_exact() -> None:
    """With no perspective, crop or skew, a pixel of the turned page maps back to exactly the
    pixel it came from (no off-by-one at the far edge)."""
    h, w = 37, 61
    for rotation in (0, 90, 180, 270):
        for x, y in ((0, 0), (w - 1, 0), (w - 1, h - 1), (3, 29)):
            img = np.zeros((h, w), np.uint8)
            img[y, x] = 255
            turned = pp.rotate_quadrant(img, rotation)
            ty, tx = np.argwhere(turned == 255)[0]
            back = to_original((h, w), np.eye(3), rotation, 0.0)
            assert map_point(float(tx), float(ty), back) == pytest.approx((x, y), abs=1e-6), (rotation, x, y)


def test_to_original_round_trips_the_forward_matrix(photo) -> None:
    _, m, prepared = photo
    back = np.array(to_original(prepared.grey.shape, prepared.forward, 0, 0.0))
    assert back.shape == (3, 3)
    points = project(m, np.vstack([box_corners(BOX), [[100, 100], [CARD_W - 50, 40]]]))
    forth = project(prepared.forward, points)
    again = np.array([map_point(x, y, back.tolist()) for x, y in forth])
    np.testing.assert_allclose(again, points, atol=1e-3)


@pytest.mark.parametrize("rotation,skew", [(0, 2.5), (90, 0.0), (90, -3.0), (180, 1.5), (270, 4.0)])
def test_to_original_follows_the_turn_and_deskew(photo, rotation: int, skew: float) -> None:
    """A feature of the page as OCR sees it (prepared, turned a quarter, deskewed) maps back onto
    that feature in the picture the user sent."""
    _, m, prepared = photo
    page = pp.rotate_small(pp.rotate_quadrant(prepared.grey, rotation), skew)
    back = to_original(prepared.grey.shape, prepared.forward, rotation, skew)
    # Where the black frame went on the turned page: follow one of its strokes with the same matrices.
    centre_picture = project(m, [[(BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2]])[0]
    q = pp.quadrant_matrix(prepared.grey.shape, rotation)
    turned_shape = prepared.grey.shape[::-1] if rotation in (90, 270) else prepared.grey.shape
    r = np.vstack([pp.small_rotation(turned_shape, skew)[0], [0, 0, 1]])
    seed = project(r @ q @ prepared.forward @ m, [on_stroke(BOX)])[0]
    x0, y0, x1, y1 = dark_component(page, seed)
    # The frame's centre on the OCR'd page, mapped back, is the frame's centre in the picture.
    got = map_point((x0 + x1 - 1) / 2, (y0 + y1 - 1) / 2, back)
    assert np.linalg.norm(np.subtract(got, centre_picture)) < 4.0, (got, centre_picture)


# ----------------------------------------------------------------------------- map_point / local_affine
HOMOGRAPHY = [[0.92, 0.08, 31.0], [-0.05, 1.07, 12.0], [2.1e-4, -1.3e-4, 1.0]]
AFFINE = [[0.0, -0.5, 900.0], [0.5, 0.0, 100.0]]


def test_map_point_with_a_homography_is_a_perspective_transform() -> None:
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1500, (20, 2))
    expected = project(np.array(HOMOGRAPHY), pts)
    got = np.array([map_point(x, y, HOMOGRAPHY) for x, y in pts])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    # A 2x3 affine and the same matrix as a 3x3 homography with (0, 0, 1) agree.
    for x, y in pts[:5]:
        assert map_point(x, y, AFFINE) == pytest.approx(map_point(x, y, AFFINE + [[0, 0, 1]]))
        assert map_point(x, y, AFFINE) == pytest.approx((900 - y / 2, 100 + x / 2))
    # A homography scaled as a whole is the same mapping.
    scaled = (np.array(HOMOGRAPHY) * 3.7).tolist()
    assert map_point(321.0, 654.0, scaled) == pytest.approx(map_point(321.0, 654.0, HOMOGRAPHY))
    assert map_point(5.0, 7.0, None) == (5.0, 7.0)


def test_local_affine_of_an_affine_matrix_is_its_linear_part() -> None:
    for x, y in ((0.0, 0.0), (500.0, 1200.0)):
        assert local_affine(x, y, AFFINE) == pytest.approx((0.0, -0.5, 0.5, 0.0))
        assert local_affine(x, y, AFFINE + [[0, 0, 1]]) == pytest.approx((0.0, -0.5, 0.5, 0.0))
    assert local_affine(3.0, 4.0, None) == (1.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("x,y", [(0.0, 0.0), (800.0, 300.0), (1500.0, 1100.0)])
def test_local_affine_of_a_homography_is_its_jacobian(x: float, y: float) -> None:
    eps = 1e-3
    (ux1, uy1), (ux0, uy0) = map_point(x + eps, y, HOMOGRAPHY), map_point(x - eps, y, HOMOGRAPHY)
    (vx1, vy1), (vx0, vy0) = map_point(x, y + eps, HOMOGRAPHY), map_point(x, y - eps, HOMOGRAPHY)
    numeric = ((ux1 - ux0) / (2 * eps), (vx1 - vx0) / (2 * eps), (uy1 - uy0) / (2 * eps), (vy1 - vy0) / (2 * eps))
    assert local_affine(x, y, HOMOGRAPHY) == pytest.approx(numeric, rel=1e-5, abs=1e-7)
    # Perspective makes it vary across the page: it is not the matrix's linear part.
    assert local_affine(1500.0, 1100.0, HOMOGRAPHY) != pytest.approx((0.92, 0.08, -0.05, 1.07), rel=1e-3)


# ----------------------------------------------------------------------------- guilloche
def text_page(pattern: bool, text: bool = True, size=(1700, 900)) -> np.ndarray:
    """White page; optionally pale (210) thin wavy lines all over it, like an ID card's
    guilloche; optionally black Vietnamese text on top."""
    w, h = size
    page = np.full((h, w), 255, np.uint8)
    if pattern:
        xs = np.arange(0, w, 2)
        for y0 in range(-10, h + 10, 11):
            ys = y0 + 4 * np.sin(2 * np.pi * xs / 70 + y0 / 30)
            cv2.polylines(page, [np.int32(np.stack([xs, ys], 1))], False, 210, 1, cv2.LINE_8)
    if text:
        img = Image.fromarray(page)
        draw = ImageDraw.Draw(img)
        f = font(44)
        for i, line in enumerate(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
                                  "Họ, chữ đệm, tên: NGUYỄN THỊ HỒNG NHUNG", "Ngày sinh: 12/03/1987"]):
            draw.text((80, 80 + i * 180), line, font=f, fill=0)
        page = np.asarray(img).copy()
    return page


def test_background_pattern_share_tells_guilloche_from_plain_paper() -> None:
    plain, patterned = text_page(False), text_page(True)
    assert pp.background_pattern_share(plain) < 0.02
    # A scan's soft text edges are mid-grey too, but lie next to ink: plain paper still scores ~0.
    soft = cv2.GaussianBlur(plain, (0, 0), 1.2)
    assert ((soft >= 120) & (soft < 230)).mean() > 0.01  # there are plenty of pale edge pixels
    assert pp.background_pattern_share(soft) < 0.005
    assert pp.background_pattern_share(patterned) > PATTERN_MIN_SHARE
    # The pattern's own pixels (pale lines away from text) are what counts, not the text edges.
    assert pp.background_pattern_share(text_page(True, text=False)) > 0.04
    assert pp.background_pattern_share(np.full((900, 1700), 255, np.uint8)) == 0.0


def test_suppress_background_whitens_pale_lines_and_keeps_text() -> None:
    page = text_page(True)
    ink = page < 60
    lines = (page == 210) & ~(cv2.dilate(ink.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0)
    assert ink.sum() > 1000 and lines.sum() > 10000
    out = pp.suppress_background(page)
    assert out.shape == page.shape and out.dtype == np.uint8
    assert out[lines].min() >= 250
    assert out[ink].max() < 80
    # A tone curve, not a threshold: darker stays darker (rank order kept, nothing inverted).
    order = np.argsort(page.ravel(), kind="stable")
    assert np.all(np.diff(out.ravel()[order].astype(int)) >= 0)
    # Text edges keep intermediate greys (anti-aliasing survives).
    mid = (page > 60) & (page < 150)
    assert ((out[mid] > 10) & (out[mid] < 245)).mean() > 0.5


def test_suppress_background_leaves_a_page_without_ink_alone() -> None:
    page = text_page(True, text=False)
    np.testing.assert_array_equal(pp.suppress_background(page), page)
    blank = np.full((600, 800), 250, np.uint8)
    np.testing.assert_array_equal(pp.suppress_background(blank), blank)


@pytest.fixture(scope="module")
def id_card() -> Image.Image:
    from sohoa.synth.people import random_person
    from sohoa.synth.render import render_document

    rng = random.Random(7)
    return render_document("cccd_front_2021", random_person(rng), rng).image


def test_prepare_whitens_an_id_cards_guilloche(id_card) -> None:
    on = prepare(RawPage(number=1, image=id_card, dpi=300), PreprocessOptions())
    off = prepare(RawPage(number=1, image=id_card, dpi=300), PreprocessOptions(suppress_background=False))
    assert not on.photographed and not off.photographed
    assert on.grey.shape == off.grey.shape
    np.testing.assert_allclose(on.forward, off.forward)
    # The card counts as patterned, else suppression would not run at all.
    assert pp.background_pattern_share(off.grey) >= PATTERN_MIN_SHARE
    # Background: pixels with no print darker than 120 within 10 px.
    far = cv2.erode((off.grey >= 120).astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    assert far.mean() > 0.3
    assert (on.grey[far] >= 250).mean() > (off.grey[far] >= 250).mean() + 0.2
    assert np.percentile(on.grey[far], 10) > np.percentile(off.grey[far], 10) + 20
    # The text itself stays dark.
    text = off.grey < 60
    assert text.sum() > 2000 and np.median(on.grey[text]) < 60
