#include "lengthhistogram.h"

#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "plotexport.h"
#include "plotstyle.h"

namespace droplora::ui {

LengthHistogram::LengthHistogram(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    m_plot->setMinimumHeight(150);
    m_plot->xAxis->setLabel(tr("tokens per row"));
    m_plot->yAxis->setLabel(tr("rows"));
    m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_bars->setPen(QPen(QColor(0x37, 0x47, 0x4f)));
    m_bars->setBrush(QColor(0x90, 0xa4, 0xae));
    m_bars->setWidthType(QCPBars::wtPlotCoords);
    m_limit = new QCPItemStraightLine(m_plot);
    m_limit->setPen(QPen(QColor(0xc6, 0x28, 0x28), 2, Qt::DashLine));
    m_label = new QCPItemText(m_plot);
    m_label->setPositionAlignment(Qt::AlignTop | Qt::AlignRight);
    m_label->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_label->position->setCoords(0.98, 0.04);
    m_label->setColor(QColor(0xc6, 0x28, 0x28));
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    applyPlotStyle(m_plot);
    installPlotExportMenu(m_plot, QStringLiteral("token-lengths"));
    rebuild();
}

void LengthHistogram::setLengths(const QVector<double>& lengths, const QString& emptyNote) {
    m_lengths = lengths;
    m_emptyNote = emptyNote;
    rebuild();
}

void LengthHistogram::setMaxSeqLen(qint64 maxSeqLen) {
    m_maxSeqLen = maxSeqLen;
    updateLimit();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

qint64 LengthHistogram::truncatedCount() const {
    return std::count_if(m_lengths.begin(), m_lengths.end(),
                         [this](double n) { return n > static_cast<double>(m_maxSeqLen); });
}

int LengthHistogram::binCount() const { return m_bars->data()->size(); }

void LengthHistogram::rebuild() {
    m_bars->data()->clear();
    if (m_lengths.isEmpty()) {
        m_limit->setVisible(false);
        m_label->setText(m_emptyNote);
        m_plot->xAxis->setRange(0, static_cast<double>(m_maxSeqLen) * 1.1);
        m_plot->yAxis->setRange(0, 1);
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const double longest = *std::max_element(m_lengths.begin(), m_lengths.end());
    // About 40 bins of a round width over [0, longest].
    const double raw = std::max(1.0, longest / 40.0);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double width = magnitude;
    for (double f : {1.0, 2.0, 5.0, 10.0})
        if (f * magnitude >= raw) {
            width = f * magnitude;
            break;
        }
    const int bins = static_cast<int>(std::floor(longest / width)) + 1;
    QVector<double> keys(bins), counts(bins, 0.0);
    for (int i = 0; i < bins; ++i) keys[i] = (i + 0.5) * width;
    for (double n : m_lengths) counts[std::min(bins - 1, static_cast<int>(n / width))] += 1;
    m_bars->setWidth(width * 0.9);
    m_bars->setData(keys, counts, true);
    m_plot->yAxis->setRange(0, *std::max_element(counts.begin(), counts.end()) * 1.15);
    updateLimit();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void LengthHistogram::updateLimit() {
    if (m_lengths.isEmpty()) return;
    const double longest = *std::max_element(m_lengths.begin(), m_lengths.end());
    const double limit = static_cast<double>(m_maxSeqLen);
    m_limit->setVisible(true);
    m_limit->point1->setCoords(limit, 0);
    m_limit->point2->setCoords(limit, 1);
    m_plot->xAxis->setRange(0, std::max(longest, limit) * 1.08);
    m_label->setText(tr("max_seq_len %1: %2 of %3 rows truncated")
                         .arg(m_maxSeqLen)
                         .arg(truncatedCount())
                         .arg(m_lengths.size()));
}

}  // namespace droplora::ui
