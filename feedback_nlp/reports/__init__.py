"""Reports for CX leads: self-contained HTML pages (and PDF or PNG through headless Chromium).

``topic_report`` computes and writes the topic report; ``layout`` and ``templates/`` lay it
out; ``charts`` draws inline SVG; ``wording`` puts numbers into words; ``chromium`` drives
the headless browser.
"""
