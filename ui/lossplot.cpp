#include "lossplot.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <iterator>
#include <qcustomplot.h>

#include "plotexport.h"
#include "plotstyle.h"

namespace droplora::ui {

namespace {

// Overlay colours: distinct from the live run's blue and the eval orange.
const QColor kOverlayColours[] = {QColor(0x8e, 0x24, 0xaa), QColor(0x2e, 0x7d, 0x32), QColor(0x6d, 0x4c, 0x41),
                                  QColor(0xc2, 0x18, 0x5b), QColor(0x00, 0x83, 0x8f), QColor(0x55, 0x8b, 0x2f)};

}  // namespace

LossPlot::LossPlot(QWidget* parent)
    : QWidget(parent),
      m_plot(new QCustomPlot(this)),
      m_logScale(new QCheckBox(tr("Log scale"), this)),
      m_smoothing(new QDoubleSpinBox(this)) {
    m_smoothing->setRange(0, 0.999);
    m_smoothing->setDecimals(3);
    m_smoothing->setSingleStep(0.05);
    m_smoothing->setValue(m_beta);
    m_smoothing->setToolTip(tr("Weight of the past in the moving average (0 = raw loss)"));
    auto* reset = new QPushButton(tr("Reset view"), this);
    auto* save = new QPushButton(tr("Save…"), this);
    save->setToolTip(tr("Save the plot as PNG or PDF (also on right click)"));

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("<b>Loss</b>"), this));
    bar->addStretch(1);
    bar->addWidget(new QLabel(tr("Smoothing"), this));
    bar->addWidget(m_smoothing);
    bar->addWidget(m_logScale);
    bar->addWidget(reset);
    bar->addWidget(save);
    bar->addWidget(makeHelpButton(helpHtml(), this));
    auto* caption = makeCaption(this);
    caption->setText(tr("Training loss of each step (light) and its moving average (bold), validation loss "
                        "(dots), learning rate (dashed, right axis)."));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addLayout(bar);
    layout->addWidget(caption);
    layout->addWidget(m_plot, 1);

    const QColor blue(0x19, 0x76, 0xd2);
    m_raw = m_plot->addGraph();
    m_raw->setName(tr("train loss"));
    QColor light = blue;
    light.setAlpha(70);
    m_raw->setPen(QPen(light, 1));
    m_smoothed = m_plot->addGraph();
    m_smoothed->setName(tr("train loss (smoothed)"));
    m_smoothed->setPen(QPen(blue, 2.5));
    m_eval = m_plot->addGraph();
    m_eval->setName(tr("validation loss"));
    m_eval->setPen(QPen(QColor(0xef, 0x6c, 0x00), 2));
    m_eval->setLineStyle(QCPGraph::lsNone);
    m_eval->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 8));
    m_lr = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    m_lr->setName(tr("learning rate"));
    m_lr->setPen(QPen(QColor(0x75, 0x75, 0x75), 1, Qt::DashLine));

    m_plot->xAxis->setLabel(tr("step"));
    m_plot->yAxis->setLabel(tr("loss"));
    m_plot->yAxis2->setLabel(tr("learning rate"));
    m_plot->yAxis2->setVisible(true);
    m_plot->legend->setVisible(true);
    applyPlotStyle(m_plot);
    placeLegendBelow(m_plot, 6);  // outside the data: the curves are never hidden
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);

    // The user's pan or zoom holds the view until "Reset view" or a double click.
    connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_follow = false; });
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        if (e->buttons() & Qt::LeftButton) m_follow = false;
    });
    connect(m_plot, &QCustomPlot::mouseDoubleClick, this, &LossPlot::resetView);
    connect(reset, &QPushButton::clicked, this, &LossPlot::resetView);
    connect(save, &QPushButton::clicked, this, [this] { savePlotInteractively(m_plot, QStringLiteral("loss")); });
    connect(m_logScale, &QCheckBox::toggled, this, &LossPlot::setLogScale);
    connect(m_smoothing, &QDoubleSpinBox::valueChanged, this, &LossPlot::setSmoothing);
    installPlotExportMenu(m_plot, QStringLiteral("loss"), [this] { resetView(); });
    refresh();
}

void LossPlot::clear() {
    for (QCPGraph* g : {m_raw, m_smoothed, m_eval, m_lr}) g->data()->clear();
    m_ema = 0;
    m_emaCount = 0;
    m_follow = true;
    refresh();
}

void LossPlot::setHistory(const QVector<droplora::train::StepMetrics>& steps,
                          const QVector<droplora::train::EvalMetrics>& evals) {
    for (QCPGraph* g : {m_raw, m_smoothed, m_eval, m_lr}) g->data()->clear();
    QVector<double> x, loss, lr;
    for (const auto& m : steps) {
        x.append(static_cast<double>(m.step));
        loss.append(m.loss);
        lr.append(m.lr);
    }
    m_raw->setData(x, loss, true);
    m_lr->setData(x, lr, true);
    QVector<double> ex, el;
    for (const auto& e : evals) {
        ex.append(static_cast<double>(e.step));
        el.append(e.loss);
    }
    m_eval->setData(ex, el, true);
    m_follow = true;
    recomputeSmoothed();
    refresh();
}

void LossPlot::addStep(const droplora::train::StepMetrics& metrics) {
    const auto step = static_cast<double>(metrics.step);
    m_raw->addData(step, metrics.loss);
    m_lr->addData(step, metrics.lr);
    appendSmoothed(step, metrics.loss);
    refresh();
}

void LossPlot::addEval(const droplora::train::EvalMetrics& metrics) {
    m_eval->addData(static_cast<double>(metrics.step), metrics.loss);
    refresh();
}

void LossPlot::addOverlay(const QString& name, const QVector<double>& steps, const QVector<double>& losses) {
    QCPGraph* graph = m_overlays.value(name);
    if (!graph) {
        graph = m_plot->addGraph();
        QColor colour = kOverlayColours[m_overlays.size() % std::size(kOverlayColours)];
        colour.setAlpha(200);
        graph->setPen(QPen(colour, 2));
        graph->setName(name);
        m_overlays.insert(name, graph);
    }
    graph->setData(steps, losses);
    refresh();
}

void LossPlot::clearOverlays() {
    for (QCPGraph* g : std::as_const(m_overlays)) m_plot->removeGraph(g);
    m_overlays.clear();
    refresh();
}

void LossPlot::setLogScale(bool on) {
    if (m_logScale->isChecked() != on) m_logScale->setChecked(on);  // re-enters through toggled()
    const bool current = m_plot->yAxis->scaleType() == QCPAxis::stLogarithmic;
    if (current == on) return;
    if (on) {
        m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    } else {
        m_plot->yAxis->setScaleType(QCPAxis::stLinear);
        m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    }
    m_follow = true;
    refresh();
}

bool LossPlot::isLogScale() const { return m_plot->yAxis->scaleType() == QCPAxis::stLogarithmic; }

void LossPlot::setSmoothing(double beta) {
    beta = std::clamp(beta, 0.0, 0.999);
    if (m_smoothing->value() != beta) m_smoothing->setValue(beta);
    if (beta == m_beta) return;
    m_beta = beta;
    recomputeSmoothed();
    refresh();
}

int LossPlot::pointCount() const { return m_raw->data()->size(); }

int LossPlot::evalCount() const { return m_eval->data()->size(); }

QVector<double> LossPlot::smoothedLosses() const {
    QVector<double> out;
    for (auto it = m_smoothed->data()->constBegin(); it != m_smoothed->data()->constEnd(); ++it) out.append(it->value);
    return out;
}

void LossPlot::appendSmoothed(double step, double loss) {
    // Debiased EMA (as in Adam): early points are not pulled towards zero.
    m_ema = m_beta * m_ema + (1.0 - m_beta) * loss;
    ++m_emaCount;
    const double correction = 1.0 - std::pow(m_beta, m_emaCount);
    m_smoothed->addData(step, correction > 0 ? m_ema / correction : loss);
}

void LossPlot::recomputeSmoothed() {
    m_smoothed->data()->clear();
    m_ema = 0;
    m_emaCount = 0;
    for (auto it = m_raw->data()->constBegin(); it != m_raw->data()->constEnd(); ++it) appendSmoothed(it->key, it->value);
}

void LossPlot::resetView() {
    m_follow = true;
    refresh();
}

QString LossPlot::helpHtml() {
    return tr("<p><b>What the loss plot shows</b></p>"
              "<ul><li><b>Train loss</b>: the mean cross-entropy of the response tokens of each optimizer step "
              "(light), and its moving average (bold; the Smoothing box sets how much of the past it keeps).</li>"
              "<li><b>Validation loss</b>: the same on held-out rows, every <i>Evaluate</i> steps. It is the "
              "number to trust: when it rises while the train loss still falls, the adapter is memorising the "
              "training rows (overfitting).</li>"
              "<li><b>Learning rate</b>: the schedule (warm-up, then linear/cosine decay), on the right axis.</li>"
              "<li>Other runs' losses appear as coloured overlays (Runs → Overlay loss).</li></ul>"
              "<p>A healthy run falls fast at first and then flattens. DropLoRA's train loss is noisier than "
              "LoRA's (channels are dropped at random); compare the validation losses.</p>"
              "<p>Drag to pan, wheel to zoom, double-click to follow the data again.</p>");
}

void LossPlot::refresh() {
    // Only series that hold data are named in the legend.
    QList<QCPGraph*> named = {m_raw, m_smoothed, m_eval, m_lr};
    named.append(m_overlays.values());
    for (QCPGraph* g : named) {
        if (g->data()->isEmpty()) g->removeFromLegend();
        else g->addToLegend();
    }
    if (m_follow) {
        bool found = false;
        QCPRange keys, values;
        const QCP::SignDomain domain = isLogScale() ? QCP::sdPositive : QCP::sdBoth;
        QList<QCPGraph*> lossGraphs = {m_raw, m_smoothed, m_eval};
        lossGraphs.append(m_overlays.values());
        for (QCPGraph* g : lossGraphs) {
            bool ok = false;
            const QCPRange k = g->getKeyRange(ok);
            if (!ok) continue;
            bool vok = false;
            const QCPRange v = g->getValueRange(vok, domain);
            if (!vok) continue;
            keys = found ? QCPRange(std::min(keys.lower, k.lower), std::max(keys.upper, k.upper)) : k;
            values = found ? QCPRange(std::min(values.lower, v.lower), std::max(values.upper, v.upper)) : v;
            found = true;
        }
        if (found) {
            // A little room on the right, so the newest points are not cut by the frame.
            keys = keys.size() > 0 ? QCPRange(keys.lower, keys.upper + keys.size() * 0.02)
                                   : QCPRange(keys.lower - 1, keys.upper + 1);
            m_plot->xAxis->setRange(keys);
            if (isLogScale()) {
                m_plot->yAxis->setRange(values.lower / 1.1, values.upper * 1.1);
            } else {
                const double pad = values.size() > 0 ? values.size() * 0.05 : std::max(0.1, std::abs(values.upper) * 0.05);
                m_plot->yAxis->setRange(values.lower - pad, values.upper + pad);
            }
            bool lrOk = false;
            const QCPRange lr = m_lr->getValueRange(lrOk);
            if (lrOk) m_plot->yAxis2->setRange(0, lr.upper > 0 ? lr.upper * 1.05 : 1);
        } else {
            m_plot->xAxis->setRange(0, 10);
            m_plot->yAxis->setRange(isLogScale() ? 0.1 : 0, 10);
            m_plot->yAxis2->setRange(0, 1e-3);
        }
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace droplora::ui
