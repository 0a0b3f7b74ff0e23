package gg.starpets.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.CombinedRangeXYPlot;
import org.jfree.chart.plot.DefaultDrawingSupplier;
import org.jfree.chart.plot.Plot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/** The cost benchmark's plots, drawn headless with JFreeChart into PNG files. */
final class CostCharts {

    /** One colour per series position, the same in every plot (JFreeChart's default includes a pale yellow). */
    private static final Color[] COLOURS = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
    };

    /** One shape per series position too: JFreeChart's sequence would go on from one subplot to the next. */
    private static final Shape[] SHAPES = DefaultDrawingSupplier.createStandardSeriesShapes();

    private CostCharts() {}

    static void write(
            Path dir,
            List<CostStep> idle,
            List<CostStep> byTasks,
            List<CostStep> byInstances,
            List<CostStep> saturation)
            throws IOException {
        Files.createDirectories(dir);
        save(dir.resolve("cost-idle.png"), "Idle instances: what each costs the database", idle(idle), 900, 620);
        save(
                dir.resolve("cost-growth.png"),
                "Claim time and start lag at "
                        + (byTasks.isEmpty() ? 0 : (int) byTasks.getFirst().offered()) + " tasks due per second",
                growth(byTasks, byInstances),
                1000,
                560);
        if (!saturation.isEmpty()) {
            CostStep first = saturation.getFirst();
            save(
                    dir.resolve("cost-saturation.png"),
                    "Saturation: " + first.instances() + " instances, " + first.tasks() + " tasks, one PostgreSQL",
                    saturation(saturation),
                    900,
                    900);
        }
    }

    private static Plot idle(List<CostStep> steps) {
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(linear("instances"));
        List<Integer> taskCounts =
                steps.stream().map(CostStep::tasks).distinct().toList();
        XYSeriesCollection statements = new XYSeriesCollection();
        XYSeriesCollection cpu = new XYSeriesCollection();
        for (int tasks : taskCounts) {
            List<CostStep> these =
                    steps.stream().filter(s -> s.tasks() == tasks).toList();
            statements.addSeries(series(
                    String.format("%,d tasks", tasks), these, s -> s.instances(), CostStep::statementsPerInstance));
            cpu.addSeries(series(String.format("%,d tasks", tasks), these, s -> s.instances(), s -> s.dbCores() * 100));
        }
        plot.add(plotOf(statements, null, linear("statements/s per instance")), 1);
        plot.add(withoutLegend(plotOf(cpu, null, linear("DB CPU, all instances (% of a core)"))), 1);
        return plot;
    }

    private static Plot growth(List<CostStep> byTasks, List<CostStep> byInstances) {
        CombinedRangeXYPlot plot = new CombinedRangeXYPlot(log("milliseconds"));
        plot.add(
                plotOf(timings(byTasks, CostStep::tasks), log("tasks (" + instancesOf(byTasks) + " instances)"), null),
                1);
        XYPlot right = plotOf(
                timings(byInstances, CostStep::instances),
                linear("instances ("
                        + (byInstances.isEmpty() ? 0 : byInstances.getFirst().tasks()) + " tasks)"),
                null);
        // The same series on both sides: one legend.
        plot.add(withoutLegend(right), 1);
        return plot;
    }

    private static XYSeriesCollection timings(List<CostStep> steps, ToDoubleFunction<CostStep> x) {
        XYSeriesCollection c = new XYSeriesCollection();
        c.addSeries(series("claim, server mean", steps, x, s -> s.claim().meanMs()));
        c.addSeries(series("claim p99, client", steps, x, s -> s.claim().clientP99()));
        c.addSeries(series("share p99, client", steps, x, s -> s.share().clientP99()));
        c.addSeries(series("start lag p99", steps, x, CostStep::lagP99));
        return c;
    }

    private static Plot saturation(List<CostStep> steps) {
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(linear("tasks due per second"));
        XYSeriesCollection rate = new XYSeriesCollection();
        rate.addSeries(series("due/s", steps, CostStep::offered, CostStep::offered));
        rate.addSeries(series("runs started/s", steps, CostStep::offered, CostStep::runs));
        plot.add(plotOf(rate, null, linear("per second")), 1);
        XYSeriesCollection lag = new XYSeriesCollection();
        lag.addSeries(series("start lag p50", steps, CostStep::offered, CostStep::lagP50));
        lag.addSeries(series("start lag p99", steps, CostStep::offered, CostStep::lagP99));
        lag.addSeries(series(
                "claim p99, client", steps, CostStep::offered, s -> s.claim().clientP99()));
        LogAxis ms = log("milliseconds");
        plot.add(plotOf(lag, null, ms), 1);
        XYSeriesCollection cpu = new XYSeriesCollection();
        cpu.addSeries(series("PostgreSQL", steps, CostStep::offered, CostStep::dbCores));
        cpu.addSeries(series("instances' JVM", steps, CostStep::offered, CostStep::jvmCores));
        cpu.addSeries(series("whole host", steps, CostStep::offered, CostStep::hostCores));
        NumberAxis cores =
                linear("CPU (cores; the host has " + Runtime.getRuntime().availableProcessors() + ")");
        plot.add(plotOf(cpu, null, cores), 1);
        return plot;
    }

    private static XYSeries series(
            String name, List<CostStep> steps, ToDoubleFunction<CostStep> x, ToDoubleFunction<CostStep> y) {
        XYSeries series = new XYSeries(name, false, true);
        for (CostStep s : steps) {
            double value = y.applyAsDouble(s);
            // Log axes cannot show zero; a missing value is left out.
            if (!Double.isNaN(value) && value > 0) {
                series.add(x.applyAsDouble(s), value);
            }
        }
        return series;
    }

    /** A subplot: in a combined plot, the shared axis is the combined plot's (null here). */
    private static XYPlot plotOf(XYSeriesCollection data, ValueAxis domain, ValueAxis range) {
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesStroke(i, new BasicStroke(2f));
            renderer.setSeriesPaint(i, COLOURS[i % COLOURS.length]);
            renderer.setSeriesShape(i, SHAPES[i % SHAPES.length]);
        }
        XYPlot plot = new XYPlot(data, domain, range, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        return plot;
    }

    private static XYPlot withoutLegend(XYPlot plot) {
        plot.getRenderer().setDefaultSeriesVisibleInLegend(false);
        return plot;
    }

    /** Ticks at the powers of ten only, minor marks between them. */
    private static LogAxis log(String label) {
        LogAxis axis = new LogAxis(label);
        axis.setBase(10);
        axis.setSmallestValue(0.01);
        axis.setTickUnit(new NumberTickUnit(1), false, false);
        axis.setAutoTickUnitSelection(false);
        axis.setMinorTickMarksVisible(true);
        axis.setMinorTickCount(9);
        axis.setNumberFormatOverride(new DecimalFormat("#,##0.##"));
        return axis;
    }

    private static NumberAxis linear(String label) {
        NumberAxis axis = new NumberAxis(label);
        axis.setAutoRangeIncludesZero(true);
        return axis;
    }

    private static int instancesOf(List<CostStep> steps) {
        return steps.isEmpty() ? 0 : steps.getFirst().instances();
    }

    private static void save(Path file, String title, Plot plot, int width, int height) throws IOException {
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(file.toFile(), chart, width, height);
    }
}
